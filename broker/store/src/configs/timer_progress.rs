//! `config/timerProgress.properties`: FerroMQ's checkpoint of timer-message delivery.
//!
//! FerroMQ does not keep Apache's `timerwheel` / `timerlog` files (see the broker's `timer`
//! module for the design); the consume queue of `rmq_sys_wheel_timer`, whose tag codes are the
//! delivery times, is the durable index, and this small file says how far delivery got:
//!
//! ```text
//! enqueueOffset=1200      # timer-queue entries below this were read by the delivery task
//! scanFrom=37             # no entry below this is still pending
//! pendingFromMs=1763712000000
//! pendingFromOffset=41    # entries below 1200 ordered before (pendingFromMs, pendingFromOffset)
//!                         # by (delivery time, offset) are delivered; the others are pending
//! ```
//!
//! Without `pendingFromMs` / `pendingFromOffset` every entry below `enqueueOffset` was
//! delivered. The name differs from Apache's `config/timercheck` on purpose: the two files mean
//! different things and neither broker must misread the other's.

use std::path::Path;

use ferromq_common::java_properties;

use super::file;
use crate::error::{Result, StoreError};

/// Timer delivery progress, stored in `config/timerProgress.properties`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerProgress {
    /// Timer-queue entries below this offset have been read by the delivery task.
    pub enqueue_offset: i64,
    /// No entry below this offset is still pending.
    pub scan_from: i64,
    /// The smallest pending `(delivery time ms, queue offset)` among the entries read; `None`
    /// when every entry read was delivered.
    pub pending_from: Option<(i64, i64)>,
}

impl TimerProgress {
    /// The file name under the store's `config` directory.
    pub const FILE_NAME: &'static str = "timerProgress.properties";

    /// Whether the entry at `offset` due at `deliver_ms` still waits for delivery.
    pub fn is_pending(&self, deliver_ms: i64, offset: i64) -> bool {
        if offset >= self.enqueue_offset {
            return true;
        }
        offset >= self.scan_from && self.pending_from.is_some_and(|p| (deliver_ms, offset) >= p)
    }

    /// Loads the progress stored at `path` (from `<path>.bak` when the file is torn); the
    /// start state when there is no file.
    pub fn load(path: &Path) -> Result<TimerProgress> {
        Ok(file::load(path, |bytes| Ok(Self::decode(bytes)))?.unwrap_or_default())
    }

    /// Parses the file's text; missing or malformed fields take their start values.
    pub fn decode(bytes: &[u8]) -> TimerProgress {
        let mut p = TimerProgress::default();
        let (mut ms, mut offset) = (None, None);
        for (k, v) in java_properties::parse(&String::from_utf8_lossy(bytes)) {
            let Ok(n) = v.trim().parse::<i64>() else {
                continue;
            };
            match k.as_str() {
                "enqueueOffset" => p.enqueue_offset = n,
                "scanFrom" => p.scan_from = n,
                "pendingFromMs" => ms = Some(n),
                "pendingFromOffset" => offset = Some(n),
                _ => {}
            }
        }
        p.pending_from = ms.zip(offset);
        p
    }

    /// The file's text.
    pub fn encode(&self) -> String {
        let mut pairs = vec![
            ("enqueueOffset", self.enqueue_offset.to_string()),
            ("scanFrom", self.scan_from.to_string()),
        ];
        if let Some((ms, offset)) = self.pending_from {
            pairs.push(("pendingFromMs", ms.to_string()));
            pairs.push(("pendingFromOffset", offset.to_string()));
        }
        java_properties::to_string(pairs)
    }

    /// Writes the file crash-safely (temp file, fsync, `.bak`, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        ferromq_common::config_file::write(path, self.encode().as_bytes())
            .map_err(|e| StoreError::io("persist", path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_and_without_pending_entries() {
        for p in [
            TimerProgress::default(),
            TimerProgress {
                enqueue_offset: 1200,
                scan_from: 37,
                pending_from: Some((1_763_712_000_000, 41)),
            },
        ] {
            assert_eq!(TimerProgress::decode(p.encode().as_bytes()), p);
        }
    }

    #[test]
    fn pending_is_decided_by_time_then_offset_below_the_enqueue_offset() {
        let p = TimerProgress {
            enqueue_offset: 10,
            scan_from: 2,
            pending_from: Some((5_000, 4)),
        };
        assert!(!p.is_pending(9_000, 1), "below scanFrom");
        assert!(!p.is_pending(4_999, 7), "due earlier: delivered");
        assert!(
            !p.is_pending(5_000, 3),
            "same time, earlier offset: delivered"
        );
        assert!(p.is_pending(5_000, 4));
        assert!(p.is_pending(5_001, 2));
        assert!(p.is_pending(0, 10), "not read yet");
        let all_done = TimerProgress {
            pending_from: None,
            ..p
        };
        assert!(!all_done.is_pending(9_999_999, 9));
        assert!(all_done.is_pending(0, 10));
    }

    #[test]
    fn a_missing_file_is_the_start_state() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(TimerProgress::FILE_NAME);
        assert_eq!(
            TimerProgress::load(&path).expect("load"),
            TimerProgress::default()
        );
        let p = TimerProgress {
            enqueue_offset: 3,
            scan_from: 1,
            pending_from: Some((7, 1)),
        };
        p.save(&path).expect("save");
        assert_eq!(TimerProgress::load(&path).expect("load"), p);
    }
}
