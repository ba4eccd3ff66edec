//! Apache 5.x's auto-switch HA frames (big-endian), so FerroMQ and Apache brokers of one set
//! replicate each other. States are `HAConnectionState` ordinals.
//!
//! Slave to master:
//! - handshake (16 bytes): `state=HANDSHAKE i32 | syncFromLastFile i16 | asyncLearner i16 |
//!   slaveBrokerId i64`;
//! - report (12 bytes): `state=TRANSFER i32 | maxOffset i64`.
//!
//! Master to slave:
//! - handshake (20 + 12n): `state=HANDSHAKE i32 | bodySize i32 | maxOffset i64 | lastEpoch i32`
//!   then n `epoch i32 | startOffset i64` entries;
//! - transfer (36 + body): `state=TRANSFER i32 | bodySize i32 | offset i64 | epoch i32 |
//!   epochStartOffset i64 | confirmOffset i64 | commitlog bytes` (a heartbeat has no body).

use super::epoch::EpochEntry;

/// `HAConnectionState.HANDSHAKE`.
pub(crate) const HANDSHAKE: i32 = 1;
/// `HAConnectionState.TRANSFER`.
pub(crate) const TRANSFER: i32 = 2;

/// A slave's handshake.
pub(crate) const SLAVE_HANDSHAKE_LEN: usize = 16;
/// A slave's offset report.
pub(crate) const REPORT_LEN: usize = 12;
/// A master's handshake header (entries follow).
pub(crate) const MASTER_HANDSHAKE_LEN: usize = 20;
/// A master's transfer header (data follows).
pub(crate) const TRANSFER_HEADER_LEN: usize = 36;
/// One epoch entry in a master's handshake.
pub(crate) const EPOCH_ENTRY_LEN: usize = 12;

/// What a slave sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlaveFrame {
    /// Who it is and how it wants to sync.
    Handshake {
        sync_from_last_file: bool,
        async_learner: bool,
        broker_id: i64,
    },
    /// Its commitlog's end.
    Report(i64),
}

impl SlaveFrame {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(SLAVE_HANDSHAKE_LEN);
        match *self {
            SlaveFrame::Handshake {
                sync_from_last_file,
                async_learner,
                broker_id,
            } => {
                b.extend_from_slice(&HANDSHAKE.to_be_bytes());
                b.extend_from_slice(&i16::from(sync_from_last_file).to_be_bytes());
                b.extend_from_slice(&i16::from(async_learner).to_be_bytes());
                b.extend_from_slice(&broker_id.to_be_bytes());
            }
            SlaveFrame::Report(offset) => {
                b.extend_from_slice(&TRANSFER.to_be_bytes());
                b.extend_from_slice(&offset.to_be_bytes());
            }
        }
        b
    }

    /// The first frame of `buf` and its length; `Ok(None)` until it is complete.
    pub(crate) fn decode(buf: &[u8]) -> Result<Option<(SlaveFrame, usize)>, String> {
        let Some(state) = buf.get(..4) else {
            return Ok(None);
        };
        match i32_at(state, 0) {
            HANDSHAKE if buf.len() >= SLAVE_HANDSHAKE_LEN => Ok(Some((
                SlaveFrame::Handshake {
                    sync_from_last_file: i16::from_be_bytes([buf[4], buf[5]]) == 1,
                    async_learner: i16::from_be_bytes([buf[6], buf[7]]) == 1,
                    broker_id: i64_at(buf, 8),
                },
                SLAVE_HANDSHAKE_LEN,
            ))),
            TRANSFER if buf.len() >= REPORT_LEN => {
                Ok(Some((SlaveFrame::Report(i64_at(buf, 4)), REPORT_LEN)))
            }
            HANDSHAKE | TRANSFER => Ok(None),
            other => Err(format!("unexpected slave state {other}")),
        }
    }
}

/// A master's handshake: its log's end, its newest epoch and all its epochs.
pub(crate) fn master_handshake(max_offset: i64, entries: &[EpochEntry]) -> Vec<u8> {
    let last_epoch = entries.last().map_or(-1, |e| e.epoch);
    let mut b = Vec::with_capacity(MASTER_HANDSHAKE_LEN + entries.len() * EPOCH_ENTRY_LEN);
    b.extend_from_slice(&HANDSHAKE.to_be_bytes());
    b.extend_from_slice(&((entries.len() * EPOCH_ENTRY_LEN) as i32).to_be_bytes());
    b.extend_from_slice(&max_offset.to_be_bytes());
    b.extend_from_slice(&last_epoch.to_be_bytes());
    for e in entries {
        b.extend_from_slice(&e.epoch.to_be_bytes());
        b.extend_from_slice(&e.start.to_be_bytes());
    }
    b
}

/// A transfer frame's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TransferHeader {
    pub(crate) body_size: i32,
    pub(crate) offset: i64,
    pub(crate) epoch: i32,
    pub(crate) epoch_start: i64,
    pub(crate) confirm_offset: i64,
}

impl TransferHeader {
    pub(crate) fn encode(&self) -> [u8; TRANSFER_HEADER_LEN] {
        let mut b = [0u8; TRANSFER_HEADER_LEN];
        b[..4].copy_from_slice(&TRANSFER.to_be_bytes());
        b[4..8].copy_from_slice(&self.body_size.to_be_bytes());
        b[8..16].copy_from_slice(&self.offset.to_be_bytes());
        b[16..20].copy_from_slice(&self.epoch.to_be_bytes());
        b[20..28].copy_from_slice(&self.epoch_start.to_be_bytes());
        b[28..36].copy_from_slice(&self.confirm_offset.to_be_bytes());
        b
    }
}

/// The common 20 bytes of a master frame: state, body size, offset, epoch.
pub(crate) fn master_prefix(b: &[u8; MASTER_HANDSHAKE_LEN]) -> (i32, i32, i64, i32) {
    (i32_at(b, 0), i32_at(b, 4), i64_at(b, 8), i32_at(b, 16))
}

/// The 16 bytes after a transfer frame's prefix: epoch start and confirm offset.
pub(crate) fn transfer_suffix(b: &[u8; 16]) -> (i64, i64) {
    (i64_at(b, 0), i64_at(b, 8))
}

/// Epoch entries of a master's handshake body.
pub(crate) fn epoch_entries(body: &[u8]) -> Vec<EpochEntry> {
    body.chunks_exact(EPOCH_ENTRY_LEN)
        .map(|c| EpochEntry {
            epoch: i32_at(c, 0),
            start: i64_at(c, 4),
        })
        .collect()
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(x)
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slave_frames_golden_and_partial() {
        let hs = SlaveFrame::Handshake {
            sync_from_last_file: true,
            async_learner: false,
            broker_id: 2,
        };
        let bytes = hs.encode();
        assert_eq!(bytes, [0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(SlaveFrame::decode(&bytes), Ok(Some((hs, 16))));
        for cut in 0..bytes.len() {
            assert_eq!(SlaveFrame::decode(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        let report = SlaveFrame::Report(1 << 33).encode();
        assert_eq!(report, [0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0]);
        assert_eq!(
            SlaveFrame::decode(&report),
            Ok(Some((SlaveFrame::Report(1 << 33), 12)))
        );
        assert!(SlaveFrame::decode(&[0, 0, 0, 9]).is_err());
    }

    #[test]
    fn master_frames_golden() {
        let entries = [
            EpochEntry { epoch: 1, start: 0 },
            EpochEntry {
                epoch: 2,
                start: 300,
            },
        ];
        let hs = master_handshake(500, &entries);
        assert_eq!(hs.len(), 20 + 24);
        let mut prefix = [0u8; 20];
        prefix.copy_from_slice(&hs[..20]);
        assert_eq!(master_prefix(&prefix), (HANDSHAKE, 24, 500, 2));
        assert_eq!(epoch_entries(&hs[20..]), entries.to_vec());
        let t = TransferHeader {
            body_size: 10,
            offset: 300,
            epoch: 2,
            epoch_start: 300,
            confirm_offset: 250,
        }
        .encode();
        let mut prefix = [0u8; 20];
        prefix.copy_from_slice(&t[..20]);
        assert_eq!(master_prefix(&prefix), (TRANSFER, 10, 300, 2));
        let mut suffix = [0u8; 16];
        suffix.copy_from_slice(&t[20..]);
        assert_eq!(transfer_suffix(&suffix), (300, 250));
    }
}
