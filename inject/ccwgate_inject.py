# ccwgate fault injector: a gdb (Python) script that plays a broken host.
#
# It attaches to QEMU's gdbstub and, from one chosen iteration on, changes
# only what a host could change: the I/O-interruption words in the lowcore,
# the IRB that TEST SUBCHANNEL stores, the condition code of an instruction,
# data the device wrote, whether an interruption is presented at all. The
# kernel has no injection code; breakpoints sit on its ordinary functions
# (one wrapper per channel instruction) and its iteration counter.
#
# Run by run-qemu.sh --inject CLASS[@ITERATION]; environment:
#   CCWGATE_KERNEL  kernel ELF    CCWGATE_GDBSTUB  where QEMU's gdbstub listens
#   CCWGATE_CLASS   class name    CCWGATE_AT    iteration to inject at
import os
import struct
import sys
import time

import gdb

KERNEL = os.environ["CCWGATE_KERNEL"]
GDBSTUB = os.environ["CCWGATE_GDBSTUB"]
CLASS = os.environ["CCWGATE_CLASS"]
AT = int(os.environ.get("CCWGATE_AT", "10"))

LC_SID, LC_INTPARM, LC_IOWORD = 0xB8, 0xBC, 0xC0
LC_IO_OLD_PSW, LC_IO_NEW_PSW = 0x170, 0x1F0
LC_PGM_CODE, LC_PGM_OLD_PSW = 0x8E, 0x150
PSW_CC = 3 << (63 - 19)
FC_START, FC_HALT, FC_CLEAR = 0x4000, 0x2000, 0x1000
SC_PRIMARY, SC_SECONDARY, SC_ALERT = 0x04, 0x02, 0x10
UNIT_CHECK, UNIT_EXCEPTION, DEVICE_END = 0x02, 0x01, 0x04
CHANNEL_END, ATTENTION = 0x08, 0x80
SENSE_ID = 0xE4
NOP = 0x03
PSW_IO = 1 << (63 - 6)
ISC = 3

# `ccwgate list injections`: gate's class names (gate/src/oracle/mod.rs),
# then the injector's own; runner/tests/names.rs holds this copy to them.
CLASSES = (
    "sid-mismatch", "intparm-mismatch", "wrong-function", "duplicate-status",
    "lost-interrupt", "spurious-interrupt", "bad-status", "ccw-address",
    "data-corruption", "cc-anomaly",
    # scenario=conformance: from check N on, the first guarded instruction
    # comes out otherwise: its program interruption is not presented (the
    # instruction is passed over with cc 0, as by a host that does not
    # check the operand), or its condition code is another one.
    "conformance",
    # Not a class: upstream QEMU's relay of a vfio-ccw subchannel racing a
    # CLEAR. The clear's status is replaced by a start status (QEMU copying
    # the host's SCSW over the guest's: a deviation), and the clear's own
    # status is handed to the next start (the 2021 misattribution).
    "relay-race",
    # Not a host fault: the device's own unit check, which the kernel must
    # report as ERROR device-error (with the sense bytes), not FAIL.
    "unit-check",
    # A bad-status case of its own: a NOP's residual count above the CCW's
    # count of 1 (FAIL bad-status nop-residual-above-count).
    "nop-residual",
    # The three areas issue 20 found unjudged, each a FAIL of its own:
    # a halt of a running start (HSCH cc 1 made 0) whose status shows the
    # start and halt functions and a CCW address outside the program
    # (ccw-address halted-ccw-address-outside-program);
    "halt-ccw-address",
    # a start's final status with its device end (and secondary status)
    # taken out (bad-status start-ended-without-device-end);
    "no-device-end",
    # the TSCH for an outstanding start's interruption finding nothing
    # (spurious-interrupt no-status-while-outstanding).
    "empty-tsch",
    # A deviation of upstream's (issue 20): a halt of a running start (HSCH
    # cc 1 made 0) ending with the halt function alone, the start's status
    # lost, as when the host halted an idle subchannel (strict: FAIL
    # wrong-function halt-status-without-start; vfio-ccw: counted, PASS).
    "halt-without-start",
    # A halt's status that no halt ends with: a halt of a running start
    # (HSCH cc 1 made 0) ended by alert status alone, as unsolicited status
    # relayed with the guest's function control would be (bad-status
    # alert-status-for-halt);
    "halt-alert",
    # a halt of an idle subchannel ending with primary status and channel
    # end, as if it had ended an operation (bad-status status-with-halt-of-idle).
    "halt-idle-status",
    # The emulator's, not the host's: QEMU's TCG leaving an interruption
    # queued after TSCH took its status. After a clear's status that
    # withdrew a start, the next start's interruption carries the previous
    # interruption code's parameter, as the one left over does (under TCG
    # counted as tcg-leftover-interruption, PASS; with accel=kvm FAIL
    # intparm-mismatch start-intparm).
    "tcg-leftover",
    # Issue 26: status the oracle once took on trust, each a FAIL in both
    # profiles: a start's final status marked not initiated (deferred cc 1)
    # though it ended (bad-status ending-with-start-not-initiated);
    "not-initiated-ending",
    # alert status added to a clean completion (bad-status
    # alert-status-on-clean-completion);
    "alert-completion",
    # a halt of a running start (HSCH cc 1 made 0) whose status carries
    # attention (bad-status unsolicited-bits-in-completion).
    "halt-attention",
)


def say(msg):
    sys.stdout.write("inject: %s\n" % msg)
    sys.stdout.flush()


def u64(v):
    return int(v) & 0xFFFFFFFFFFFFFFFF


inferior = None


def rd(addr, n):
    return inferior.read_memory(addr, n).tobytes()


def rd32(addr):
    return struct.unpack(">I", rd(addr, 4))[0]


def wr(addr, data):
    inferior.write_memory(addr, data)


def wr32(addr, v):
    wr(addr, struct.pack(">I", v & 0xFFFFFFFF))


def reg(name):
    return u64(gdb.parse_and_eval("$" + name))


def setreg(name, v):
    try:
        gdb.execute("set $%s = %d" % (name, v))
    except gdb.error:
        # gdb cannot unwind a bare-metal frame ("PC not saved"), but the
        # register write has already reached the target.
        pass


def address_of(symbol):
    return u64(gdb.parse_and_eval("(unsigned long)&'%s'" % symbol))


def function_range(symbol):
    start = address_of(symbol)
    text = gdb.execute("disassemble %#x" % start, to_string=True)
    return start, text


def returns_of(symbol):
    """Addresses of the `br %r14` instructions of a function."""
    _, text = function_range(symbol)
    out = []
    for line in text.splitlines():
        if "\tbr\t%r14" in line or " br\t%r14" in line or "br      %r14" in line or line.rstrip().endswith("br\t%r14"):
            out.append(int(line.split()[0 if line.split()[0].startswith("0x") else 1], 16))
    if not out:
        raise gdb.GdbError("no return found in %s" % symbol)
    return out


class Hook(gdb.Breakpoint):
    def __init__(self, address, fn):
        super().__init__("*%#x" % address, internal=True)
        self.silent = True
        self.fn = fn

    def stop(self):
        self.fn()
        return False


class State:
    done = False
    irb = None            # IRB address passed to the running TSCH
    tsch_sid = None       # subchannel ID passed to the running TSCH
    last_intparm = 0      # from the lowcore at the last I/O interruption
    clear_irb = None      # bytes of the last clear's IRB
    last_start = None     # (intparm, IRB bytes) of the last completed start
    program = None        # (cmd, data address) of the last START
    program_end = 0       # the CCW address just past the last START's program
    fabricated = False    # an interruption we made up is being handled
    owed_clear = None     # relay-race: the clear's IRB, held back
    halted = False        # halt-ccw-address, halt-without-start: HSCH's cc 1 made 0
    leftover = None       # tcg-leftover: the parameter of the interruption code to repeat


def iteration():
    return rd32(ITERATIONS)


def due():
    return not State.done and iteration() >= AT


def fire(what, marker, last=True):
    State.done = last
    say("class=%s iteration=%d %s" % (CLASS, iteration(), what))
    say("marker=%s" % marker)


def on_io_entry():
    State.last_intparm = rd32(LC_INTPARM)
    if CLASS == "tcg-leftover" and State.leftover is not None and not State.done \
            and State.last_intparm != State.leftover:
        # The next start's interruption, with the code of the one before.
        wr32(LC_INTPARM, State.leftover)
        State.last_intparm = State.leftover
        fire("the next start's interruption presented with the previous parameter "
             "(as TCG leaves one queued)", "intparm=%#010x" % State.leftover)
    elif CLASS == "sid-mismatch" and due():
        sid = rd32(LC_SID) ^ 1
        wr32(LC_SID, sid)
        fire("lowcore subchannel ID rewritten", "sid=%#010x" % sid)
    elif CLASS == "intparm-mismatch" and due():
        intparm = rd32(LC_INTPARM) ^ 0x00800000
        wr32(LC_INTPARM, intparm)
        fire("lowcore interruption parameter rewritten", "intparm=%#010x" % intparm)


def on_tsch_entry():
    global SID
    State.irb = reg("r3")
    State.tsch_sid = reg("r2") & 0xFFFFFFFF
    if SID is None:
        SID = reg("r2") & 0xFFFFFFFF


def on_tsch_return():
    irb = State.irb
    if irb is None:
        return
    cc = reg("r2")
    if State.fabricated:
        State.fabricated = False
        if CLASS == "duplicate-status":
            intparm, saved, _ = State.last_start
            wr(irb, saved)
            setreg("r2", 0)
            fire("start status presented again", "IRQ sid=%#010x cc=0 intparm=%#010x" % (rd32(LC_SID), intparm))
        return
    if cc != 0:
        return
    w0, w1, w2 = struct.unpack(">III", rd(irb, 12))
    fc = w0 & 0x7000
    final_start = fc == FC_START and w0 & SC_PRIMARY
    if fc == FC_CLEAR:
        State.clear_irb = rd(irb, 96)
        # A clear that withdrew its start (the start's final status never
        # taken): on the relay two interruptions for the one status.
        withdrew = State.last_start is None or State.last_start[0] != State.last_intparm
        if CLASS == "tcg-leftover" and due() and State.leftover is None and withdrew:
            State.leftover = State.last_intparm
    if final_start:
        State.last_start = (State.last_intparm, rd(irb, 96), State.tsch_sid)
    if CLASS == "relay-race" and fc == FC_CLEAR and due() and State.owed_clear is None \
            and State.last_start is not None:
        # The start status a relay copied over the guest's clear function:
        # the cleared start's own (a completion's words, its CCW address
        # just past the cleared start's program).
        State.owed_clear = rd(irb, 96)
        wr(irb, State.last_start[1])
        wr32(irb + 4, State.program_end)
        w0s = struct.unpack(">I", State.last_start[1][:4])[0]
        fire("start status relayed in place of the clear's (deviation)",
             "scsw=%#010x" % w0s, last=False)
        return
    if CLASS == "relay-race" and final_start and State.owed_clear is not None \
            and not State.done:
        wr(irb, State.owed_clear)
        w0c = struct.unpack(">I", State.owed_clear[:4])[0]
        fire("the held-back clear status handed to the next start", "scsw=%#010x" % w0c)
        return
    if CLASS == "halt-ccw-address" and State.halted and final_start and not State.done:
        w0x, w1x = w0 | FC_HALT, w1 + 0x1000
        wr32(irb, w0x)
        wr32(irb + 4, w1x)
        fire("a halted start's status with its CCW address outside the program",
             ":%#010x:" % w1x)
        return
    if CLASS == "halt-without-start" and State.halted and final_start and not State.done:
        # The host's halt of an idle subchannel: halt function alone, status
        # pending, no CCW address, no device status.
        w0x = FC_HALT | 0x01
        wr(irb, struct.pack(">III", w0x, 0, 0))
        fire("a halted start's status replaced by a halt with the halt function alone (deviation)",
             "scsw=%#010x:0x00000000:0x00000000" % w0x)
        return
    if CLASS == "halt-alert" and State.halted and final_start and not State.done:
        w0x, w2x = FC_START | FC_HALT | SC_ALERT | 0x01, ATTENTION << 24
        wr(irb, struct.pack(">III", w0x, 0, w2x))
        fire("a halted start's status replaced by alert status alone",
             "scsw=%#010x:0x00000000:%#010x" % (w0x, w2x))
        return
    if CLASS == "halt-attention" and State.halted and final_start and not State.done:
        w0x, w2x = w0 | FC_HALT, w2 | (ATTENTION << 24)
        wr32(irb, w0x)
        wr32(irb + 8, w2x)
        fire("a halted start's status with attention added",
             "scsw=%#010x:%#010x:%#010x" % (w0x, w1, w2x))
        return
    if CLASS == "halt-idle-status" and fc == FC_HALT and due():
        w0x, w2x = w0 | SC_PRIMARY | SC_SECONDARY, w2 | ((CHANNEL_END | DEVICE_END) << 24)
        wr32(irb, w0x)
        wr32(irb + 8, w2x)
        fire("a halt of an idle subchannel ended with primary status and channel end",
             "scsw=%#010x:%#010x:%#010x" % (w0x, w1, w2x))
        return
    if not final_start or not due():
        return
    if CLASS == "empty-tsch":
        # The interruption stays; the status it stands for is gone.
        wr(irb, bytes(12))
        setreg("r2", 1)
        fire("TSCH for an outstanding start's interruption finds nothing",
             "IRQ sid=%#010x cc=1 intparm=%#010x" % (State.tsch_sid, State.last_intparm))
        return
    if CLASS == "wrong-function" and State.clear_irb is not None:
        wr(irb, State.clear_irb)
        w0c = struct.unpack(">I", State.clear_irb[:4])[0]
        fire("clear's saved IRB handed to the following start", "scsw=%#010x" % w0c)
    elif CLASS == "bad-status":
        # QEMU's answer to a failed relay: unit exception with alert status
        # (a unit check would be the device's own error: an ERROR).
        w0x, w2x = w0 | SC_ALERT, (w2 & 0x00FFFFFF) | (UNIT_EXCEPTION << 24)
        wr32(irb, w0x)
        wr32(irb + 8, w2x)
        fire("a start's final status replaced by the relay's unit exception",
             "scsw=%#010x:%#010x:%#010x" % (w0x, w1, w2x))
    elif CLASS == "unit-check":
        wr32(irb + 8, w2 | (UNIT_CHECK << 24))
        fire("unit check added to a start's final status", "scsw=%#010x:%#010x:%#010x" % (w0, w1, w2 | (UNIT_CHECK << 24)))
    elif CLASS == "nop-residual" and State.program and State.program[0] == NOP:
        w2x = (w2 & 0xFFFF0000) | 0x0100
        wr32(irb + 8, w2x)
        fire("a NOP's residual count set above its count", "scsw=%#010x:%#010x:%#010x" % (w0, w1, w2x))
    elif CLASS == "not-initiated-ending":
        w0x = w0 | 0x01000000
        wr32(irb, w0x)
        fire("a start's final status marked not initiated (deferred cc 1)",
             "scsw=%#010x:%#010x:%#010x" % (w0x, w1, w2))
    elif CLASS == "alert-completion":
        w0x = w0 | SC_ALERT
        wr32(irb, w0x)
        fire("alert status added to a start's clean completion",
             "scsw=%#010x:%#010x:%#010x" % (w0x, w1, w2))
    elif CLASS == "no-device-end":
        w0x, w2x = w0 & ~SC_SECONDARY, w2 & ~(DEVICE_END << 24)
        wr32(irb, w0x)
        wr32(irb + 8, w2x)
        fire("a start's final status without its device end",
             "scsw=%#010x:%#010x:%#010x" % (w0x, w1, w2x))
    elif CLASS == "ccw-address":
        wr32(irb + 4, w1 + 0x1000)
        fire("CCW address moved outside the channel program", ":%#010x:" % (w1 + 0x1000))
    elif CLASS == "data-corruption" and State.program and State.program[0] == SENSE_ID:
        data = State.program[1]
        old = rd(data + 1, 1)[0]
        wr(data + 1, bytes([old ^ 0xFF]))
        fire("SENSE ID data overwritten after the device wrote it", ": data-corruption ")


def on_ssch_entry():
    orb = reg("r3")
    cpa = rd32(orb + 8)
    State.program = (rd(cpa, 1)[0], rd32(cpa + 4))
    # Format-1 CCWs, chained while the command-chaining flag (0x40) is on.
    end = cpa
    for _ in range(64):
        flags = rd(end + 1, 1)[0]
        end += 8
        if not flags & 0x40:
            break
    State.program_end = end
    if CLASS == "lost-interrupt" and due():
        # Accept the start (cc 0) without ever running it.
        setreg("r2", 0)
        setreg("pswa", reg("r14"))
        fire("START accepted and never executed", "EXPIRED")


def on_ssch_return():
    if CLASS == "cc-anomaly" and due() and reg("r2") == 0:
        setreg("r2", 2)
        fire("START answered busy after the guest took every status", "SSCH sid=%#010x cc=2" % SID)


HALTS_A_RUNNING_START = ("halt-ccw-address", "halt-without-start", "halt-alert", "halt-attention")


def on_hsch_return():
    # The start already ended (status pending, cc 1); answer as if the
    # halt had caught it running.
    if CLASS in HALTS_A_RUNNING_START and due() and not State.halted and reg("r2") == 1:
        setreg("r2", 0)
        State.halted = True
        say("class=%s iteration=%d HSCH cc 1 answered 0" % (CLASS, iteration()))


def on_io_unmasked():
    """I/O interruptions are enabled here: present one nobody asked for,
    exactly as the CPU would (old PSW, interruption code, new PSW)."""
    if SID is None or not due():
        return
    # A CPU presents I/O interruptions only while the PSW enables them; the
    # guest's own interruption may already have closed this opening.
    if not reg("pswm") & PSW_IO:
        return
    if CLASS == "duplicate-status" and State.last_start is None:
        return
    intparm = State.last_start[0] if CLASS == "duplicate-status" else 0x5EED0000
    # Presented again for the subchannel that presented it first.
    sid = State.last_start[2] if CLASS == "duplicate-status" else SID
    wr(LC_IO_OLD_PSW, struct.pack(">QQ", reg("pswm"), reg("pswa")))
    wr32(LC_SID, sid)
    wr32(LC_INTPARM, intparm)
    wr32(LC_IOWORD, ISC << 27)
    new_mask, new_addr = struct.unpack(">QQ", rd(LC_IO_NEW_PSW, 16))
    State.fabricated = True
    setreg("pswm", new_mask)
    setreg("pswa", new_addr)
    if CLASS == "spurious-interrupt":
        State.fabricated = False
        fire("I/O interruption presented with no status pending", "IRQ sid=%#010x cc=1 intparm=%#010x" % (SID, intparm))


def on_program_interruption():
    """The CPU is about to enter the program-interruption handler: undo
    the interruption, resuming after the instruction with cc 0."""
    if not due():
        return
    code = struct.unpack(">H", rd(LC_PGM_CODE, 2))[0]
    mask, addr = struct.unpack(">QQ", rd(LC_PGM_OLD_PSW, 16))
    setreg("pswm", mask & ~PSW_CC)
    setreg("pswa", addr)
    check = iteration()
    fire("program interruption %#06x not presented, cc 0 instead" % code,
         " check=%d " % check)


GUARDED = ("stsch_at", "msch_at", "ssch_at", "tsch_at", "stcrw_at", "tpi_at",
           "chsc_at", "csch_guarded", "hsch_guarded", "rsch_guarded",
           "xsch_guarded", "rchp_guarded")


def on_guarded_return():
    """A guarded instruction completed: answer with another cc."""
    if not due():
        return
    cc = reg("r2") & 3
    other = cc ^ 1
    setreg("r2", other)
    fire("condition code %d changed to %d" % (cc, other),
         " check=%d " % iteration())


if CLASS not in CLASSES:
    raise gdb.GdbError("unknown class %s; one of %s" % (CLASS, ", ".join(CLASSES)))

gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("file %s" % KERNEL)
for attempt in range(100):
    try:
        gdb.execute("target remote %s" % GDBSTUB)
        break
    except gdb.error:
        time.sleep(0.05)
else:
    raise gdb.GdbError("no gdbstub at %s" % GDBSTUB)
inferior = gdb.selected_inferior()
ITERATIONS = address_of("ccwgate::report::ITERATIONS")
SID = None

Hook(address_of("ccwgate_io_stub"), on_io_entry)
Hook(address_of("ccwgate::css::insn::tsch"), on_tsch_entry)
for a in returns_of("ccwgate::css::insn::tsch"):
    Hook(a, on_tsch_return)
if CLASS in ("lost-interrupt", "data-corruption", "nop-residual", "relay-race"):
    Hook(address_of("ccwgate::css::insn::ssch"), on_ssch_entry)
if CLASS == "cc-anomaly":
    for a in returns_of("ccwgate::css::insn::ssch"):
        Hook(a, on_ssch_return)
if CLASS in HALTS_A_RUNNING_START:
    for a in returns_of("ccwgate::css::insn::hsch"):
        Hook(a, on_hsch_return)
if CLASS == "conformance":
    Hook(address_of("ccwgate_program_stub"), on_program_interruption)
    for name in GUARDED:
        for a in returns_of("ccwgate::css::insn::" + name):
            Hook(a, on_guarded_return)
if CLASS in ("duplicate-status", "spurious-interrupt"):
    for a in returns_of("ccwgate::rt::cpu::unmask_io"):
        Hook(a, on_io_unmasked)

say("armed: class=%s at iteration %d" % (CLASS, AT))
try:
    gdb.execute("continue")
except gdb.error as e:
    # The guest stopping its CPU ends QEMU and with it the connection.
    say("target gone: %s" % e)
if not State.done:
    say("class=%s never fired (run ended before iteration %d?)" % (CLASS, AT))
