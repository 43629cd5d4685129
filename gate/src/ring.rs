//! A fixed-size FIFO without allocation: the router's mailboxes
//! ([`crate::route`]) and the kernel's queue of the status the second CPU
//! collected are each one of these.

/// Up to `N` values, oldest first.
#[derive(Clone, Copy, Debug)]
pub struct Ring<T, const N: usize> {
    items: [Option<T>; N],
    head: usize,
    len: usize,
}

impl<T, const N: usize> Ring<T, N> {
    pub const fn new() -> Self {
        Ring {
            items: [const { None }; N],
            head: 0,
            len: 0,
        }
    }

    /// Appends `item`, or hands it back when the ring is full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        if self.len == N {
            return Err(item);
        }
        self.items[(self.head + self.len) % N] = Some(item);
        self.len += 1;
        Ok(())
    }

    /// Takes the oldest value.
    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let item = self.items[self.head].take();
        self.head = (self.head + 1) % N;
        self.len -= 1;
        item
    }

    pub const fn len(&self) -> usize {
        self.len
    }

    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T, const N: usize> Default for Ring<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_in_first_out_across_the_wrap() {
        let mut r: Ring<u32, 3> = Ring::new();
        assert_eq!(r.pop(), None);
        for round in 0..5 {
            assert_eq!((r.push(round), r.push(round + 10)), (Ok(()), Ok(())));
            assert_eq!(r.len(), 2);
            assert_eq!((r.pop(), r.pop()), (Some(round), Some(round + 10)));
            assert!(r.is_empty());
        }
    }

    #[test]
    fn a_full_ring_hands_the_value_back() {
        let mut r: Ring<u32, 2> = Ring::default();
        assert_eq!((r.push(1), r.push(2), r.push(3)), (Ok(()), Ok(()), Err(3)));
        assert_eq!(r.pop(), Some(1));
        assert_eq!(r.push(3), Ok(()));
        assert_eq!((r.pop(), r.pop(), r.pop()), (Some(2), Some(3), None));
    }
}
