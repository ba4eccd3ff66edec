//! Store settings: Apache's `MessageStoreConfig` keys (docs/store.md, "Store settings").

use std::path::{Path, PathBuf};

/// When a send is acknowledged relative to the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushDiskType {
    /// Acknowledge after the append; a flusher syncs in the background.
    AsyncFlush,
    /// Acknowledge only after an `fdatasync` that covers the message (group commit).
    SyncFlush,
}

impl ferromq_common::settings::SettingValue for FlushDiskType {
    const EXPECTED: &'static str = "ASYNC_FLUSH or SYNC_FLUSH";
    fn parse_setting(s: &str) -> Option<Self> {
        match s {
            "ASYNC_FLUSH" => Some(FlushDiskType::AsyncFlush),
            "SYNC_FLUSH" => Some(FlushDiskType::SyncFlush),
            _ => None,
        }
    }
    fn render_setting(&self) -> String {
        match self {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        }
        .to_owned()
    }
}

fn default_root() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("store")
}

ferromq_common::settings! {
    /// Message store settings, under Apache's key names.
    ///
    /// FerroMQ-only keys (Apache has no equivalent): `forceRecoverCorruptCommitLog` (false).
    pub struct StoreConfig {
        /// `storePathRootDir`: the store directory (`~/store`).
        store_path_root_dir: PathBuf = default_root(), "storePathRootDir", false;
        /// `storePathCommitLog`: commitlog directory; empty means `<root>/commitlog`.
        store_path_commit_log: String = String::new(), "storePathCommitLog", false;
        /// `mappedFileSizeCommitLog`: bytes per commitlog file (1 GiB). Old spelling
        /// `mapedFileSizeCommitLog` accepted.
        mapped_file_size_commit_log: u64 = 1024 * 1024 * 1024, "mappedFileSizeCommitLog", false,
            aliases ["mapedFileSizeCommitLog"];
        /// `mappedFileSizeConsumeQueue`: bytes per consume-queue file (300,000 units); rounded
        /// up to a multiple of 20. Old spelling `mapedFileSizeConsumeQueue` accepted.
        mapped_file_size_consume_queue: u64 = 300_000 * 20, "mappedFileSizeConsumeQueue", false,
            aliases ["mapedFileSizeConsumeQueue"];
        /// `flushDiskType`: ASYNC_FLUSH or SYNC_FLUSH.
        flush_disk_type: FlushDiskType = FlushDiskType::AsyncFlush, "flushDiskType", false;
        /// `flushIntervalCommitLog`: ms between ASYNC_FLUSH flush attempts (500).
        flush_interval_commit_log: u64 = 500, "flushIntervalCommitLog", true;
        /// `flushCommitLogLeastPages`: 4 KiB pages that must be dirty for an ASYNC_FLUSH sync (4).
        flush_commit_log_least_pages: u64 = 4, "flushCommitLogLeastPages", true;
        /// `flushCommitLogThoroughInterval`: ms after which anything dirty is synced (10000).
        flush_commit_log_thorough_interval: u64 = 10_000, "flushCommitLogThoroughInterval", true;
        /// `syncFlushTimeout`: ms a SYNC_FLUSH send waits for its sync (5000).
        sync_flush_timeout: u64 = 5000, "syncFlushTimeout", true;
        /// `maxMessageSize`: largest message body in bytes (4 MiB).
        max_message_size: usize = 4 * 1024 * 1024, "maxMessageSize", true;
        /// `flushIntervalConsumeQueue`: ms between consume-queue flushes (1000).
        flush_interval_consume_queue: u64 = 1000, "flushIntervalConsumeQueue", true;
        /// `flushConsumeQueueLeastPages` (2).
        flush_consume_queue_least_pages: u64 = 2, "flushConsumeQueueLeastPages", true;
        /// `flushConsumeQueueThoroughInterval`: ms (60000).
        flush_consume_queue_thorough_interval: u64 = 60_000, "flushConsumeQueueThoroughInterval", true;
        /// `messageIndexEnable`: build the key index (true).
        message_index_enable: bool = true, "messageIndexEnable", false;
        /// `maxHashSlotNum`: hash slots per index file (5,000,000).
        max_hash_slot_num: u32 = 5_000_000, "maxHashSlotNum", false;
        /// `maxIndexNum`: entries per index file (20,000,000).
        max_index_num: u32 = 20_000_000, "maxIndexNum", false;
        /// `maxMsgsNumBatch`: most messages one key query returns (64).
        max_msgs_num_batch: usize = 64, "maxMsgsNumBatch", true;
        /// `checkCRCOnRecover`: verify body CRCs while recovering (true).
        check_crc_on_recover: bool = true, "checkCRCOnRecover", false;
        /// `forceRecoverCorruptCommitLog` (FerroMQ only; false): what recovery does with an
        /// invalid commitlog record (bad length, CRC or stored offset) or a missing file *before*
        /// the offset the checkpoint records as synced, i.e. damage to acknowledged data. False:
        /// start-up stops with an error naming the file and offset. True: the commitlog is
        /// truncated at that record, as a torn tail is, and every record after it is discarded
        /// (consume queues and index are cut back to match). A torn tail past the synced offset
        /// (the normal crash case) is truncated either way.
        force_recover_corrupt_commit_log: bool = false, "forceRecoverCorruptCommitLog", false;
        /// `deleteWhen`: `;`-separated local hours when expired files are deleted ("04").
        delete_when: String = "04".to_owned(), "deleteWhen", true;
        /// `fileReservedTime`: hours a commitlog file is kept (72).
        file_reserved_time: u64 = 72, "fileReservedTime", true;
        /// `diskMaxUsedSpaceRatio`: percent used above which expired files go at any hour (75).
        disk_max_used_space_ratio: u64 = 75, "diskMaxUsedSpaceRatio", true;
        /// `diskSpaceCleanForciblyRatio`: percent used above which the oldest files go whatever
        /// their age (85).
        disk_space_clean_forcibly_ratio: u64 = 85, "diskSpaceCleanForciblyRatio", true;
        /// `diskSpaceWarningLevelRatio`: percent used at which writes are refused (90).
        disk_space_warning_level_ratio: u64 = 90, "diskSpaceWarningLevelRatio", true;
        /// `cleanFileForciblyEnable`: allow forced deletion when the disk is nearly full (true).
        clean_file_forcibly_enable: bool = true, "cleanFileForciblyEnable", true;
        /// `deleteFileBatchMax`: most files deleted per run (10).
        delete_file_batch_max: usize = 10, "deleteFileBatchMax", true;
        /// `cleanResourceInterval`: ms between retention runs (10000).
        clean_resource_interval: u64 = 10_000, "cleanResourceInterval", true;
        /// `maxTransferBytesOnMessageInMemory` (256 KiB).
        max_transfer_bytes_on_message_in_memory: usize = 256 * 1024,
            "maxTransferBytesOnMessageInMemory", true;
        /// `maxTransferCountOnMessageInMemory` (32).
        max_transfer_count_on_message_in_memory: usize = 32, "maxTransferCountOnMessageInMemory", true;
        /// `maxTransferBytesOnMessageInDisk` (64 KiB).
        max_transfer_bytes_on_message_in_disk: usize = 64 * 1024, "maxTransferBytesOnMessageInDisk", true;
        /// `maxTransferCountOnMessageInDisk` (8).
        max_transfer_count_on_message_in_disk: usize = 8, "maxTransferCountOnMessageInDisk", true;
        /// `messageDelayLevel`: the delay of each level, 1-based (`1s 5s 10s ... 2h`; units
        /// s, m, h, d).
        message_delay_level: String = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".to_owned(),
            "messageDelayLevel", false;
        /// `timerWheelEnable`: accept 5.x timer messages (`TIMER_DELIVER_MS`, `TIMER_DELAY_SEC`,
        /// `TIMER_DELAY_MS`); refused with SYSTEM_ERROR when off (true).
        timer_wheel_enable: bool = true, "timerWheelEnable", false;
        /// `timerMaxDelaySec`: the longest timer delay accepted, in seconds (3 days).
        timer_max_delay_sec: u64 = 259_200, "timerMaxDelaySec", true;
        /// `accessMessageInMemoryMaxRatio`: percent of RAM treated as "hot" (40).
        access_message_in_memory_max_ratio: u64 = 40, "accessMessageInMemoryMaxRatio", true;
    }
}

impl StoreConfig {
    /// A config rooted at `root` with every other setting at its default.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        StoreConfig {
            store_path_root_dir: root.into(),
            ..StoreConfig::default()
        }
    }

    /// The commitlog directory.
    pub fn commit_log_dir(&self) -> PathBuf {
        if self.store_path_commit_log.trim().is_empty() {
            self.store_path_root_dir.join("commitlog")
        } else {
            PathBuf::from(self.store_path_commit_log.trim())
        }
    }

    /// `<root>/consumequeue`.
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    /// `<root>/index`.
    pub fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }

    /// `<root>/config`.
    pub fn config_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("config")
    }

    /// A file directly under the root (`checkpoint`, `abort`, `lock`).
    pub fn root_file(&self, name: &str) -> PathBuf {
        self.store_path_root_dir.join(name)
    }

    /// Consume-queue file size rounded up to whole 20-byte units, as Apache does.
    pub fn consume_queue_file_size(&self) -> u64 {
        self.mapped_file_size_consume_queue.div_ceil(20) * 20
    }

    /// The delay of each level in ms (index 0 is level 1). Entries that do not parse are skipped.
    pub fn delay_levels(&self) -> Vec<u64> {
        self.message_delay_level
            .split_whitespace()
            .filter_map(|d| {
                let (n, unit) = d.split_at(d.len().checked_sub(1)?);
                let n: u64 = n.parse().ok()?;
                let ms = match unit {
                    "s" => 1000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    "d" => 86_400_000,
                    _ => return None,
                };
                Some(n * ms)
            })
            .collect()
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.store_path_root_dir
    }
}
