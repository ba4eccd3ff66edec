//! Poison-tolerant locking.
//!
//! A mutex is poisoned when a thread panicked while holding it. The servers' tables stay
//! consistent at every unlock point (each update is one insert, remove or replace), so the data
//! behind a poisoned lock is still good: the next user takes it rather than panicking in turn.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, taking over the guard of a poisoned lock.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_locks() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let panicked = std::thread::spawn(move || {
            let _g = m2.lock().expect("first lock");
            panic!("poison it");
        })
        .join();
        assert!(panicked.is_err());
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
