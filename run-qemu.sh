#!/usr/bin/env bash
# run-qemu.sh: build ccwgate, boot it under qemu-system-s390x, stream the guest
# console and turn its VERDICT line into an exit status a CI can use.
#
# Exit status: 0 PASS, 1 FAIL, 2 ERROR (guest ERROR verdict, no verdict,
# several verdicts, timeout, QEMU or build failure, bad usage); with --known
# a FAIL that is a known open bug prints KNOWN: <id> and exits 0.
set -uo pipefail

usage() {
    cat <<'USAGE'
usage: ./run-qemu.sh [options] [-- extra qemu-system-s390x arguments]

Guest options (become kernel command-line tokens, see README "Options"):
  --scenario NAME     selftest | smoke | ssch | csch-race | hsch-race | csch-idle | mixed
                      | conformance (default: mixed)
  --seed N            seed for the scenario's choices (default 1)
  --iterations N      iterations to run (default: the scenario's own)
  --devno XXXX[,XXXX...]|all
                      device number(s) of the subchannel(s) to test, up to 8
                      (default: the first found)
  --delay MIN:MAX:STEP|auto
                      delay sweep between a START and the CLEAR/HALT racing it,
                      TOD units (4096 = 1 us); default auto: sized to the
                      measured start-to-status time
  --mode MODE         irq | wait | poll | tsch: collect status by I/O interruptions
                      (spinning or in an enabled wait), TPI polling or TSCH polling
  --io-timeout-ms N   bounded wait for one I/O's status (default 1000)
  --verbose N         guest log level 0-3
  --runs N            batch: run the configuration for N seeds in one boot
                      (seed, seed+K, ...), one RUN: line each, then one
                      VERDICT line for all (docs/campaigns.md)
  --seed-step K       seed distance between a batch's runs (default 1)
  --keep-going        a batch goes on after a FAIL or ERROR run
  --append TOKENS     raw extra command-line tokens, appended last
                      (host=strict|vfio-ccw picks the judgement profile;
                      a --device vfio-ccw,... makes vfio-ccw the default)

Host options:
  --timeout SECONDS   kill QEMU and report ERROR after this long (default 120)
  --accel tcg|kvm     accelerator (default tcg; kvm needs an s390x host)
  --smp N             number of CPUs (default 1)
  --cpus MODE         io-elsewhere (I/O interruptions taken on CPU 1) or both
                      (CPU 0 and CPU 1 both issue the instructions); implies
                      --smp 2 at least (cpus= token, docs/design.md)
  --device SPEC       add a -device (repeatable), e.g. vfio-ccw,sysfsdev=...
  --vfio-ccw UUID[,devno=XXXX]
                      pass the mediated device UUID through (repeatable):
                      implies --accel kvm, --no-default-device and
                      host=vfio-ccw, and checks the host first (s390x, /dev/kvm,
                      vfio_ccw, the mdev and its IOMMU group), naming what is
                      missing and how to fix it
  --bisect            for git bisect run: ERROR exits 125 (skip), PASS 0, FAIL 1
  --what WHAT         with --bisect: only a FAIL with this what (README "What
                      ccwgate detects") is bad (1); PASS 0; any other FAIL or
                      ERROR 125, to find where one symptom came or went
  --known[=FILE]      a FAIL whose signature (profile, class, what) is a known
                      open bug in FILE (default known-bugs.toml, README "Known
                      open bugs") prints KNOWN: <id> after its verdict and
                      exits 0 (also with --bisect); other FAILs still exit 1
  --no-default-device do not attach the emulated virtio-rng-ccw (devno fe.0.0001)
  --async-device[=PROPS]
                      attach ccwgate-testdev instead of virtio-rng-ccw: a
                      CCW device whose channel programs take their time
                      (HALT and CLEAR reach them running; docs/async-device.md),
                      in a qemu-system-s390x built from Debian's QEMU 7.2 with
                      patches/qemu-testdev/ (the first run builds it, about
                      25 min on 2 cores; cached like the box). PROPS: the
                      device's properties, e.g. split-percent=30,seed=7
                      (its seed defaults to --seed). With one vCPU, QEMU
                      counts time in guest instructions (-icount
                      shift=3,sleep=off): runs repeat whatever the load
  --devices N         attach N emulated virtio-rng-ccw devices (devno fe.0.0001
                      to fe.0.000N; default 1), e.g. with --devno all
  --kernel ELF        boot this kernel instead of building one
  --gdb               make QEMU wait for gdb on tcp::1234 (see README)
  --inject NAME[@N]   play a broken host with gdb from iteration N (default 10)
                      on: a class (expect FAIL with it, README "What ccwgate
                      detects"), relay-race, unit-check, nop-residual,
                      halt-ccw-address, no-device-end, empty-tsch,
                      halt-without-start, halt-alert, halt-idle-status,
                      not-initiated-ending, alert-completion, halt-attention
                      or tcg-leftover (the emulator's: PASS counted under
                      TCG, FAIL with --append accel=kvm)
                      (a unique prefix will do, e.g. intparm);
                      needs gdb-multiarch
  --dry-run           print the QEMU command and exit

The real stack in a box (no s390x hardware; nested/README.md):
  --nested            run the guest through the real upstream vfio-ccw path:
                      x86 QEMU (TCG) -> an s390x Linux middle host with
                      vfio_ccw, the subchannel of an emulated CCW device
                      bound to it -> its s390x qemu-system-s390x with
                      -device vfio-ccw -> ccwgate (host=vfio-ccw). The first
                      run builds the middle host's kernel (about 4 min) and
                      initramfs; later runs reuse them (cache: $CCWGATE_CACHE,
                      default ~/.cache/ccwgate; nested/box.sh clean empties it).
                      Default --timeout 300, and io_timeout_ms=10000 for the
                      guest. HOST: lines say what the middle host did; an
                      ERROR names the layer that failed
  --host-kernel IMAGE boot this middle-host bzImage (built with nested/host.config)
  --host-kernel-tree DIR
                      build the middle host's kernel from this Linux tree
                      (your patch under test), with nested/host.config merged
  --host-patch FILE   apply FILE (patch -p1) to Debian's kernel source first
                      (repeatable; nested/faults/ holds the tests' faults)
  --host-qemu PATH    the inner QEMU: this s390x qemu-system-s390x instead of
                      Debian's s390x package
  --host-runs N       N inner runs in one middle-host boot, seeds SEED to
                      SEED+N-1, each a fresh inner QEMU (the host's state
                      between them is vfio_ccw's after a close); each prints
                      its own VERDICT line; exit 0 all PASS, 1 a FAIL, 2 an
                      ERROR or a missing verdict (not with --known/--bisect)
  --host-smp N        the middle host's CPUs (default 2; 1 serialises the relay
                      with the guest and hides every race)
  --host-dmesg        after the run, print the middle host's kernel messages
                      that nested/debug/irb-trace.patch logs (with --host-patch)
  --host-trace EVENTS inner QEMU trace events (comma-separated patterns, e.g.
                      'vfio_ccw*,css_*'), printed by the middle host
  -h, --help          this text

Exit status: 0 PASS (or, with --known, a known open bug's FAIL), 1 FAIL,
2 ERROR / no verdict / timeout / usage (125 instead of 2 with --bisect).
USAGE
}

# ERROR is 2, or 125 under --bisect so that `git bisect run` skips the commit.
error_status=2
for a in "$@"; do
    [ "$a" = -- ] && break
    [ "$a" = --bisect ] && error_status=125
done
die() { echo "run-qemu.sh: ERROR: $*" >&2; exit "$error_status"; }

# Every fork costs a campaign a few ms per boot: parameter expansion
# instead of dirname, builtins instead of seq and command substitutions.
case "${BASH_SOURCE[0]}" in */*) here=${BASH_SOURCE[0]%/*} ;; *) here=. ;; esac
[[ "$here" = /* ]] || here="$PWD/$here"
target=s390x-unknown-linux-gnu
append=()
extra_append=""
timeout=120
accel=tcg
smp=1
cpus=""
devices=()
default_device=1
emulated=1
kernel=""
gdb=0
inject=""
dry_run=0
qemu_extra=()
vfio_uuids=()
bisect=0
what=""
known=""
nested=0
host_kernel=""
host_tree=""
host_patches=()
host_qemu=""
host_smp=2
host_trace=""
host_dmesg=0
host_runs=1
timeout_given=0
async_device=0
async_props=""

need_value() { [ $# -ge 2 ] || die "option $1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --scenario) need_value "$@"; append+=("scenario=$2"); shift 2 ;;
        --seed) need_value "$@"; append+=("seed=$2"); shift 2 ;;
        --iterations) need_value "$@"; append+=("iterations=$2"); shift 2 ;;
        --devno) need_value "$@"; append+=("devno=$2"); shift 2 ;;
        --delay) need_value "$@"; append+=("delay=$2"); shift 2 ;;
        --mode) need_value "$@"; append+=("mode=$2"); shift 2 ;;
        --io-timeout-ms) need_value "$@"; append+=("io_timeout_ms=$2"); shift 2 ;;
        --verbose) need_value "$@"; append+=("verbose=$2"); shift 2 ;;
        --runs) need_value "$@"; append+=("runs=$2"); shift 2 ;;
        --seed-step) need_value "$@"; append+=("seed_step=$2"); shift 2 ;;
        --keep-going) append+=("keep_going=1"); shift ;;
        --append) need_value "$@"; extra_append="$2"; shift 2 ;;
        --timeout) need_value "$@"; timeout=$2; timeout_given=1; shift 2 ;;
        --accel) need_value "$@"; accel=$2; shift 2 ;;
        --smp) need_value "$@"; smp=$2; shift 2 ;;
        --cpus) need_value "$@"; append+=("cpus=$2"); cpus=$2; shift 2 ;;
        --device) need_value "$@"; devices+=("$2"); shift 2 ;;
        --no-default-device) default_device=0; shift ;;
        --async-device) async_device=1; shift ;;
        --async-device=*) async_device=1; async_props=${1#--async-device=}; shift ;;
        --devices) need_value "$@"; emulated=$2; shift 2
                   [[ "$emulated" =~ ^[1-8]$ ]] || die "--devices: 1 to 8, not '$emulated'" ;;
        --kernel) need_value "$@"; kernel=$2; shift 2 ;;
        --gdb) gdb=1; shift ;;
        --inject) need_value "$@"; inject=$2; shift 2 ;;
        --vfio-ccw) need_value "$@"; vfio_uuids+=("$2"); shift 2 ;;
        --bisect) bisect=1; shift ;;
        --what) need_value "$@"; what=$2; shift 2
                [[ "$what" =~ ^[a-z0-9-]+$ ]] || die "--what wants a what name (e.g. late-clear-status-for-next-start), got '$what'" ;;
        --known) known="$here/known-bugs.toml"; shift ;;
        --known=*) known=${1#--known=}; [ -n "$known" ] || known="$here/known-bugs.toml"; shift ;;
        --dry-run) dry_run=1; shift ;;
        --nested) nested=1; shift ;;
        --host-kernel) need_value "$@"; host_kernel=$2; shift 2 ;;
        --host-kernel-tree) need_value "$@"; host_tree=$2; shift 2 ;;
        --host-patch) need_value "$@"; host_patches+=(--patch "$2"); shift 2 ;;
        --host-qemu) need_value "$@"; host_qemu=$2; shift 2 ;;
        --host-smp) need_value "$@"; host_smp=$2; shift 2 ;;
        --host-trace) need_value "$@"; host_trace=$2; shift 2 ;;
        --host-dmesg) host_dmesg=1; shift ;;
        --host-runs) need_value "$@"; host_runs=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; qemu_extra=("$@"); break ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done

# --vfio-ccw UUID[,devno=XXXX]: the mdev's -device, on KVM, without the
# emulated device.
mdev_root=${CCWGATE_MDEV_ROOT:-/sys/bus/mdev/devices}
for spec in "${vfio_uuids[@]}"; do
    uuid=${spec%%,*}
    [[ "$uuid" =~ ^[0-9a-fA-F-]{36}$ ]] || die "--vfio-ccw wants a mediated device UUID, got '$uuid'"
    dev="vfio-ccw,sysfsdev=$mdev_root/$uuid"
    if [ "$spec" != "$uuid" ]; then
        opt=${spec#*,}
        case "$opt" in
            devno=*) d=${opt#devno=}; d=${d#0.0.}
                     [[ "$d" =~ ^[0-9a-fA-F]{1,4}$ ]] || die "--vfio-ccw: bad devno in '$spec'"
                     dev="$dev,devno=fe.0.$(printf %04x "0x$d")" ;;
            *) die "--vfio-ccw: unknown option '$opt' in '$spec' (only devno=)" ;;
        esac
    fi
    devices+=("$dev")
done
if [ "${#vfio_uuids[@]}" -gt 0 ]; then
    accel=kvm
    default_device=0
fi

if [ "$async_device" = 1 ]; then
    [ "$nested" = 0 ] || die "--async-device with --nested is not there yet (issue 27); run it without --nested"
    [ "${#vfio_uuids[@]}" = 0 ] && [ "$default_device" = 1 ] \
        || die "--async-device attaches its own device in place of the default one; drop --vfio-ccw/--no-default-device"
    [ "$accel" = tcg ] || die "--async-device is built for x86 TCG only"
    [[ -z "$async_props" || "$async_props" =~ ^[a-z0-9-]+=[A-Za-z0-9-]+(,[a-z0-9-]+=[A-Za-z0-9-]+)*$ ]] \
        || die "--async-device=PROPS wants name=value[,name=value...], got '$async_props'"
fi
if [ "$nested" = 1 ]; then
    [ "${#vfio_uuids[@]}" = 0 ] || die "--nested makes its own mediated device; drop --vfio-ccw"
    [ "${#devices[@]}" = 0 ] && [ "$default_device" = 1 ] && [ "$emulated" = 1 ] \
        || die "--nested passes through one emulated device of the outer QEMU; drop --device/--devices/--no-default-device"
    [ "$accel" = tcg ] || die "--nested runs under TCG at both levels (the middle host has no KVM)"
    [ -z "$inject" ] && [ "$gdb" = 0 ] || die "--inject and --gdb reach the guest's QEMU; under --nested that is the inner one: not supported (use --host-patch to break the host)"
    [ -z "$host_kernel" ] || [ -z "$host_tree" ] || die "--host-kernel and --host-kernel-tree: pick one"
    [ -z "$host_kernel" ] || [ "${#host_patches[@]}" = 0 ] || die "--host-patch builds a kernel; it does not go with --host-kernel"
    [[ "$host_smp" =~ ^[1-8]$ ]] || die "--host-smp: 1 to 8 CPUs, not '$host_smp'"
    [[ "$host_runs" =~ ^[1-9][0-9]{0,3}$ ]] || die "--host-runs: 1 to 9999 runs, not '$host_runs'"
    if [ "$host_runs" != 1 ] && { [ -n "$known$what" ] || [ "$bisect" = 1 ]; }; then
        die "--host-runs gives a verdict per run: it does not go with --known, --bisect or --what"
    fi
    [ "$timeout_given" = 1 ] || timeout=300
elif [ -n "$host_kernel$host_tree$host_qemu$host_trace" ] || [ "${#host_patches[@]}" -gt 0 ] || [ "$host_dmesg" = 1 ] || [ "$host_runs" != 1 ]; then
    die "--host-* options are for --nested"
fi
[ -n "$what" ] && [ "$bisect" = 0 ] && die "--what is for --bisect (git bisect run on one symptom)"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "--timeout wants whole seconds, got '$timeout'"
[[ "$smp" =~ ^[1-9][0-9]*$ ]] || die "--smp wants a CPU count, got '$smp'"
[ -n "$cpus" ] && [ "$cpus" != one ] && [ "$smp" -lt 2 ] && smp=2
case "$accel" in
    tcg) accel_args=(-accel tcg -cpu max)
         [ "$smp" -gt 1 ] && accel_args[1]=tcg,thread=multi ;;
    kvm) accel_args=(-accel kvm -cpu host) ;;
    *) die "--accel must be tcg or kvm, got '$accel'" ;;
esac

if [ -n "$inject" ]; then
    inject_class=${inject%@*}
    inject_at=10
    [ "$inject_class" != "$inject" ] && inject_at=${inject#*@}
    [[ "$inject_at" =~ ^[0-9]+$ ]] || die "--inject wants CLASS[@ITERATION], got '$inject'"
    # `ccwgate list injections` (gate's class names, then the injector's
    # own); runner/tests/names.rs holds this copy and --help's to gate.
    classes="sid-mismatch intparm-mismatch wrong-function duplicate-status lost-interrupt
             spurious-interrupt bad-status ccw-address data-corruption cc-anomaly conformance
             relay-race unit-check nop-residual halt-ccw-address no-device-end empty-tsch
             halt-without-start halt-alert halt-idle-status tcg-leftover
             not-initiated-ending alert-completion halt-attention"
    # A unique prefix names its class (--inject intparm).
    if [[ " $(echo $classes) " != *" $inject_class "* ]]; then
        matches=$(for c in $classes; do case "$c" in "$inject_class"*) echo "$c" ;; esac; done)
        [ -n "$inject_class" ] && [ "$(echo "$matches" | grep -c .)" = 1 ] \
            || die "--inject: unknown class '$inject_class'; one of: $(echo $classes)"
        inject_class=$matches
    fi
    [ "$gdb" = 0 ] || die "--inject and --gdb both need the gdbstub; pick one"
    case "$inject_class" in sid-mismatch|intparm-mismatch|duplicate-status|spurious-interrupt|empty-tsch|tcg-leftover)
        # These act on interruption delivery itself (lowcore interruption
        # code, I/O opening), which only mode=irq has.
        case " ${append[*]:-} $extra_append " in *" mode=poll "*|*" mode=tsch "*)
            die "--inject $inject_class acts on I/O interruptions: it needs mode=irq" ;;
        esac ;;
    esac
    # Defaults that give the injection something to act on, quickly.
    case " ${append[*]:-} $extra_append" in *" scenario="*) ;; *)
        case "$inject_class" in
            wrong-function|relay-race|tcg-leftover) append+=(scenario=csch-race) ;;
            halt-ccw-address|halt-without-start|halt-alert|halt-idle-status|halt-attention) append+=(scenario=hsch-race) ;;
            conformance) append+=(scenario=conformance) ;;
            *) append+=(scenario=ssch) ;;
        esac ;;
    esac
    case " ${append[*]:-} $extra_append" in *" iterations="*) ;; *) append+=("iterations=$((inject_at + 20))") ;; esac
    # The relay replaces status only of a CLEAR that caught a start; a HALT
    # is made to catch one only while the start's status is still pending.
    case "$inject_class" in relay-race|halt-ccw-address|halt-without-start|halt-alert|halt-attention|tcg-leftover)
        case " ${append[*]:-} $extra_append" in *" delay="*) ;; *) append+=(delay=0) ;; esac ;;
    esac
    case " ${append[*]:-} $extra_append" in *" io_timeout_ms="*) ;; *) append+=(io_timeout_ms=300) ;; esac
fi

cmdline="${append[*]:-}"
[ -n "$extra_append" ] && cmdline="${cmdline:+$cmdline }$extra_append"
# Without a scenario the kernel would only test itself; the front door runs
# a short mixed run against the device instead.
case " $cmdline" in
    *" scenario="*) ;;
    *) cmdline="scenario=mixed${cmdline:+ $cmdline}" ;;
esac
# A passed-through subchannel is judged with the vfio-ccw profile (README
# "Host profiles") unless the command line says otherwise.
case " $cmdline" in
    *" host="*) ;;
    *) [ "$nested" = 1 ] && cmdline="$cmdline host=vfio-ccw"
       for d in "${devices[@]}"; do
           case "$d" in vfio-ccw*) cmdline="$cmdline host=vfio-ccw"; break ;; esac
       done ;;
esac
# The nested box is two TCG layers on a machine that is often busy: a
# status there can take about a second (slowest starts 0.94 s at load 10),
# so the guest's 1 s default wait ended runs with a status that was only
# late (`start-never-completed`, `clear-never-completed`, once in about 60
# runs, never with the relay's ring watching: docs/nested.md). Ten times
# the slowest seen, unless the command line says otherwise.
if [ "$nested" = 1 ]; then
    case " $cmdline" in *" io_timeout_ms="*) ;; *) cmdline="$cmdline io_timeout_ms=10000" ;; esac
fi
[ "${#cmdline}" -lt 896 ] || die "kernel command line is ${#cmdline} bytes; the limit is 895"

# Installs what a fresh Debian machine lacks, or says exactly what to run.
ensure_tools() {
    if ! command -v qemu-system-s390x >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "run-qemu.sh: installing qemu-system-misc (provides qemu-system-s390x)" >&2
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-misc; } >&2 \
                || die "could not install qemu-system-misc"
        else
            die "qemu-system-s390x not found; install it with: sudo apt-get install qemu-system-misc"
        fi
    fi
    if [ -n "$inject" ] && ! command -v gdb-multiarch >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "run-qemu.sh: installing gdb-multiarch (for --inject)" >&2
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdb-multiarch; } >&2 \
                || die "could not install gdb-multiarch"
        else
            die "--inject needs gdb-multiarch; install it with: sudo apt-get install gdb-multiarch"
        fi
    fi
    if [ -z "$kernel" ] && command -v rustup >/dev/null \
        && ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        echo "run-qemu.sh: adding the Rust target $target" >&2
        rustup target add "$target" >&2 || die "could not run: rustup target add $target"
    fi
}

if [ -z "$kernel" ]; then
    kernel="${CARGO_TARGET_DIR:-$here/target}/$target/release/ccwgate"
    build=1
else
    build=0
fi

qemu=(qemu-system-s390x -nodefaults -nographic -machine s390-ccw-virtio "${accel_args[@]}"
      -smp "$smp" -m 128 -serial stdio -kernel "$kernel" -append "$cmdline")
if [ "$default_device" = 1 ]; then
    for ((n = 1; n <= emulated; n++)); do
        printf -v devno %04x "$n"
        if [ "$async_device" = 1 ]; then
            # The device's seed follows the guest's unless PROPS give one;
            # each of several devices gets its own.
            dev="ccwgate-testdev,devno=fe.0.$devno"
            case ",$async_props" in *,seed=*) ;; *)
                seed=1
                for t in $cmdline; do case "$t" in seed=*) seed=${t#seed=} ;; esac; done
                [[ "$seed" =~ ^[0-9]+$ ]] || seed=1
                dev="$dev,seed=$((seed * 8 + n))" ;;
            esac
            qemu+=(-device "$dev${async_props:+,$async_props}")
        else
            qemu+=(-device "virtio-rng-ccw,devno=fe.0.$devno")
        fi
    done
fi
for d in "${devices[@]}"; do qemu+=(-device "$d"); done
# --async-device: virtual time counted in guest instructions (8 ns each),
# so the device's latencies and the guest's delays share one clock that a
# loaded host cannot stretch (docs/async-device.md); not with several
# vCPUs (icount runs them in one thread) or the caller's own -icount.
if [ "$async_device" = 1 ] && [ "$smp" = 1 ] && [[ " ${qemu_extra[*]:-} " != *" -icount "* ]]; then
    qemu+=(-icount shift=3,sleep=off)
fi
[ "$gdb" = 1 ] && qemu+=(-S -gdb tcp::1234)
if [ -n "$inject" ]; then
    # The host kernel picks a port nobody uses (gdb's Python asks it), so
    # parallel runs do not collide.
    gdb_port=$(gdb-multiarch -q -batch -nx -ex 'python import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null)
    [[ "$gdb_port" =~ ^[0-9]+$ ]] || gdb_port=$((20000 + RANDOM % 10000))
    qemu+=(-S -gdb "tcp:127.0.0.1:$gdb_port")
fi
qemu+=("${qemu_extra[@]}")

# --known asks the runner (ccwgate known), which reads the TOML file; it is
# checked before anything runs.
known_check() {
    "$ccwgate" known --file "$known" "$@"
}
if [ -n "$known" ]; then
    [ -f "$known" ] || die "--known: no such file '$known'"
    ccwgate=${CCWGATE_BIN:-}
    if [ -z "$ccwgate" ]; then
        (cd "$here" && cargo build -q -p ccwgate-runner --release) >&2 \
            || die "--known: building the runner (ccwgate known) failed"
        ccwgate="${CARGO_TARGET_DIR:-$here/target}/release/ccwgate"
    fi
    known_check >/dev/null || die "--known: $known is not a valid known-bugs file"
fi

# --async-device: the QEMU with ccwgate-testdev (built once, cached).
if [ "$async_device" = 1 ]; then
    qemu[0]=$("$here/patches/qemu-testdev/build.sh") \
        || die "--async-device: building qemu-system-s390x with ccwgate-testdev failed (see build.sh's message above)"
fi

if [ "$dry_run" = 1 ] && [ "$nested" = 0 ]; then
    printf '%q ' "${qemu[@]}"; echo
    exit 0
fi

# Before QEMU meets a mediated device: everything the host must provide,
# each missing piece named with the command that fixes it.
vfio_preflight() {
    local missing=0 uuid group arch
    say_missing() { echo "run-qemu.sh: vfio-ccw preflight: $1" >&2; echo "    fix: $2" >&2; missing=1; }
    arch=$(uname -m)
    [ "$arch" = s390x ] || say_missing "not an s390x host (uname -m: $arch)" \
        "run on an IBM Z / LinuxONE host (LPAR or z/VM guest) with vfio-ccw"
    if [ ! -e /dev/kvm ]; then
        say_missing "/dev/kvm does not exist" "sudo modprobe kvm"
    elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
        say_missing "/dev/kvm is not readable and writable by $(id -un)" "sudo usermod -aG kvm $(id -un)  (then log in again)"
    fi
    [ -d /sys/module/vfio_ccw ] || say_missing "the vfio_ccw module is not loaded" "sudo modprobe vfio_ccw"
    for spec in "${vfio_uuids[@]}"; do
        uuid=${spec%%,*}
        if [ ! -e "$mdev_root/$uuid" ]; then
            say_missing "no mediated device $mdev_root/$uuid" \
                "bind a subchannel to vfio_ccw and create it (README \"Gating a host patch\"): echo $uuid | sudo tee /sys/bus/css/devices/0.0.XXXX/mdev_supported_types/vfio_ccw-io/create"
            continue
        fi
        group=$(basename "$(readlink "$mdev_root/$uuid/iommu_group" 2>/dev/null)")
        if [ -z "$group" ] || [ "$group" = . ]; then
            say_missing "$mdev_root/$uuid has no IOMMU group" "sudo modprobe vfio_iommu_type1"
        elif [ ! -r "/dev/vfio/$group" ] || [ ! -w "/dev/vfio/$group" ]; then
            say_missing "/dev/vfio/$group is not readable and writable by $(id -un)" "sudo chown $(id -un) /dev/vfio/$group"
        fi
    done
    [ "$missing" = 0 ] || die "vfio-ccw preflight failed: the host is not ready (nothing was run)"
}

[ "${#vfio_uuids[@]}" -gt 0 ] && vfio_preflight
ensure_tools
if [ "$build" = 1 ]; then
    (cd "$here" && cargo build -q -p ccwgate-kernel --release --target "$target") >&2 \
        || die "kernel build failed"
fi
[ -f "$kernel" ] || die "no kernel at $kernel"

# --nested: the middle host's kernel and initramfs from nested/box.sh (built
# once, cached), the guest and its run appended as a second archive, and
# the outer QEMU in place of the guest's.
if [ "$nested" = 1 ]; then
    box="$here/nested/box.sh"
    if [ -n "$host_kernel" ]; then
        [ -f "$host_kernel" ] || die "middle-host kernel: no such file '$host_kernel' (fix: build one, or drop --host-kernel to build Debian's linux-source-6.1)"
        bzimage=$host_kernel
    else
        bzimage=$("$box" kernel ${host_tree:+--tree "$host_tree"} "${host_patches[@]}") \
            || die "middle-host kernel: the build failed (see box.sh's message above)"
    fi
    rootfs=$("$box" rootfs ${host_qemu:+--host-qemu "$host_qemu"}) \
        || die "middle-host initramfs: the build failed (see box.sh's message above)"
    initrd=$(mktemp "${TMPDIR:-/tmp}/ccwgate-initrd.XXXXXX")
    # One line per inner run; the seed steps from run to run.
    seed0=1
    for t in $cmdline; do case "$t" in seed=*) seed0=${t#seed=} ;; esac; done
    [[ "$seed0" =~ ^[0-9]+$ ]] || [ "$host_runs" = 1 ] || die "--host-runs wants a decimal --seed, not '$seed0'"
    : >"$initrd.runs"
    for ((r = 0; r < host_runs; r++)); do
        line=$cmdline
        if [ "$host_runs" != 1 ]; then
            line=$(for t in $cmdline; do case "$t" in seed=*) ;; *) printf '%s ' "$t" ;; esac; done)
            line="${line}seed=$((seed0 + r))"
        fi
        printf '%s %s\n' "$smp" "$line" >>"$initrd.runs"
    done
    # Each inner run gets the time the whole run has, less the host's boot.
    "$box" guest "$kernel" "$initrd.runs" "$initrd.guest" || die "middle-host initramfs: packing the guest failed"
    cat "$rootfs" "$initrd.guest" >"$initrd"
    rm -f "$initrd.runs" "$initrd.guest"
    # The inner run gets what is left after the middle host's boot.
    outer_append="console=ttysclp0 quiet panic=-1 ccwgate_timeout=$((timeout > 40 ? timeout - 20 : timeout / 2))"
    [ -n "$host_trace" ] && outer_append="$outer_append ccwgate_trace=$host_trace"
    [ "$host_dmesg" = 1 ] && outer_append="$outer_append ccwgate_dmesg=1 log_buf_len=4M"
    qemu=(qemu-system-s390x -nodefaults -nographic -machine s390-ccw-virtio
          -accel tcg,thread=multi -cpu max -smp "$host_smp" -m 2048 -no-reboot -serial stdio
          -kernel "$bzimage" -initrd "$initrd" -append "$outer_append"
          -device virtio-rng-ccw,devno=fe.0.0002 "${qemu_extra[@]}")
    if [ "$dry_run" = 1 ]; then
        printf '%q ' "${qemu[@]}"; echo
        echo "# guest command line (in $initrd): $cmdline"
        exit 0
    fi
fi

[ "$gdb" = 1 ] && echo "run-qemu.sh: QEMU waits for gdb: gdb-multiarch $kernel -ex 'target remote :1234'" >&2
log=$(mktemp "${TMPDIR:-/tmp}/ccwgate.XXXXXX")
gdb_log="$log.gdb"
cleanup() {
    [ -n "${gdb_pid:-}" ] && kill "$gdb_pid" 2>/dev/null
    rm -f "$log" "$gdb_log" ${initrd:+"$initrd"}
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP
if [ -n "$inject" ]; then
    # The injector connects once QEMU listens, then plays the broken host.
    CCWGATE_KERNEL="$kernel" CCWGATE_GDBSTUB="127.0.0.1:$gdb_port" CCWGATE_CLASS="$inject_class" CCWGATE_AT="$inject_at" \
        timeout --foreground -k 5 "$timeout" gdb-multiarch -q -batch -nx -x "$here/inject/ccwgate_inject.py" \
        </dev/null >"$gdb_log" 2>&1 &
    gdb_pid=$!
fi
# --foreground keeps QEMU in our process group, so Ctrl-C or a CI cancel
# stops it with us instead of leaving it to run until the timeout.
timeout --foreground -k 5 "$timeout" "${qemu[@]}" </dev/null | tee "$log"
status=("${PIPESTATUS[@]}")
qemu_status=${status[0]}
if [ -n "$inject" ]; then
    wait "$gdb_pid"
    sed 's/^/run-qemu.sh: gdb: /' "$gdb_log" >&2
    grep -q '^inject: marker=' "$gdb_log" || die "the injection of $inject_class never fired"
fi

# The middle host's own ERROR, panic or missing end comes before the
# guest's verdict: the stack under it was not what it should be.
if [ "$nested" = 1 ]; then
    host_error=$(grep -a -m1 '^HOST: ERROR ' "$log" | tr -d '\r')
    [ -n "$host_error" ] && die "${host_error#HOST: ERROR }"
    grep -aq 'Kernel panic' "$log" && die "middle host: kernel panic (its messages are above)"
    if ! grep -aq '^HOST: done ' "$log"; then
        [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ] \
            && die "timeout: the nested stack did not end within ${timeout}s (raise --timeout)"
        grep -aq '^HOST: middle-host ' "$log" \
            || die "middle host: it never reached /init (outer qemu-system-s390x exit $qemu_status; its messages are above)"
        die "middle host: it stopped before its runs ended (outer qemu-system-s390x exit $qemu_status)"
    fi
    inner=$(grep -a '^HOST: run 1 ends: ' "$log" | tr -d '\r')
    case "$inner" in
        *" exit=0 "*) ;;
        *) grep -aq '^VERDICT: ' "$log" \
               || die "inner qemu: it exited without a verdict (${inner#HOST: }; its messages are above)" ;;
    esac
    if [ "$host_runs" != 1 ]; then
        # A verdict per inner run: the worst decides.
        got=$(grep -a -c '^VERDICT: ' "$log")
        [ "$got" = "$host_runs" ] || die "inner qemu: $got verdict lines for $host_runs runs"
        grep -aq '^VERDICT: ERROR' "$log" && exit "$error_status"
        grep -aq '^VERDICT: FAIL' "$log" && exit 1
        exit 0
    fi
fi

# One grep for the verdict lines (a console line may end in \r).
mapfile -t verdict_lines < <(grep -a '^VERDICT: ' "$log")
verdicts=${#verdict_lines[@]}
verdict=${verdict_lines[0]:-}
verdict=${verdict%$'\r'}
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
    die "timeout: no end after ${timeout}s (${verdicts} verdict line(s) seen)"
fi
[ "$qemu_status" = 0 ] || die "qemu-system-s390x exited with status $qemu_status"
[ "$verdicts" = 1 ] || die "expected exactly one VERDICT line, got $verdicts"
case "$verdict" in
    "VERDICT: PASS "*|"VERDICT: PASS") exit 0 ;;
    "VERDICT: FAIL "*)
        if [ -n "$what" ]; then
            # Bisecting one symptom: only that what is bad.
            case " $verdict " in *" what=$what "*) exit 1 ;; *) exit 125 ;; esac
        fi
        if [ -n "$known" ]; then
            id=$(tr -d '\r' <"$log" | known_check --check -)
            case $? in
                0) echo "KNOWN: $id"; exit 0 ;;
                1) exit 1 ;;
                *) die "--known: could not check the verdict against $known" ;;
            esac
        fi
        exit 1 ;;
    *) exit "$error_status" ;;
esac
