//! The commitlog: every message of every topic, appended in Apache's record layout.
//!
//! Writing (docs/store.md, "Writing a message"; Apache holds its put lock for all of it): a message
//! is validated and encoded outside any lock; the put lock is held only to assign the queue offset,
//! patch the physical offset and store timestamp into the encoded record, copy it into the mapped
//! file (rolling to a new file with Apache's 8-byte blank record when it does not fit) and bump the
//! queue's next offset. Durability is the [`Flusher`]'s job.
//!
//! Reading: [`CommitLog::read`] serves zero-copy slices of the mapped files.
//! Recovery: [`CommitLog::recover`] scans records, checking length arithmetic, the stored physical
//! offset and (optionally) the body CRC. An invalid record at or past the durable offset (the
//! flushed offset the checkpoint recorded) is a torn tail: it and everything after it are
//! truncated. One before it is corruption of acknowledged data: recovery stops with an error
//! unless `forceRecoverCorruptCommitLog` allows truncating there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::message::{
    body_crc, property, sysflag, tag_hash_code, EncodeRecord, MessageExt, RecordView,
    TransactionType, BLANK_MAGIC_CODE,
};

use crate::config::StoreConfig;
use crate::configs::topics::TIMER_TOPIC;
use crate::error::{Result, StoreError};
use crate::fault::Fault;
use crate::flush::{FlushPolicy, FlushTicket, Flusher};
use crate::mapped_file_queue::MappedFileQueue;

/// Apache's end-of-file marker: `[i32 remaining][i32 BLANK_MAGIC_CODE]`.
const BLANK_LEN: usize = 8;
const BODY_CRC_POS: usize = 8;
const QUEUE_OFFSET_POS: usize = 20;
const PHYSICAL_OFFSET_POS: usize = 28;
const BORN_HOST_POS: usize = 48;
/// The topic delayed messages wait in, one queue per delay level.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Largest encoded properties string (signed i16 length).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Where an append landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendResult {
    /// Commitlog offset of the first record.
    pub commit_log_offset: u64,
    /// Bytes written (all records).
    pub bytes: usize,
    /// Queue offset of the first record (0 for prepared/rolled-back transaction records).
    pub queue_offset: i64,
    /// Store timestamp given to the records.
    pub store_timestamp: i64,
    /// Commitlog offset and size of each record.
    pub records: Vec<(u64, usize)>,
}

impl AppendResult {
    /// Commitlog offset just past the last record.
    pub fn end_offset(&self) -> u64 {
        self.commit_log_offset + self.bytes as u64
    }
}

/// What the dispatcher needs from one record to build consume queues and the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchRequest {
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: i32,
    /// Commitlog offset of the record.
    pub commit_log_offset: u64,
    /// Record size.
    pub size: usize,
    /// Queue offset stored in the record.
    pub queue_offset: i64,
    /// Tag hash code for the consume queue.
    pub tags_code: i64,
    /// Store timestamp, ms.
    pub store_timestamp: i64,
    /// Message sysFlag.
    pub sys_flag: i32,
    /// `UNIQ_KEY` property.
    pub uniq_key: Option<String>,
    /// `KEYS` property (space-separated).
    pub keys: Option<String>,
    /// Prepared transaction offset.
    pub prepared_transaction_offset: i64,
}

impl DispatchRequest {
    /// Whether this record gets a consume-queue unit (non-transactional or committed).
    pub fn is_consumable(&self) -> bool {
        matches!(
            sysflag::transaction_type(self.sys_flag),
            TransactionType::NotTransaction | TransactionType::Commit
        )
    }

    /// Builds the request from a decoded record.
    pub fn from_message(m: &MessageExt, size: usize) -> DispatchRequest {
        DispatchRequest {
            topic: m.topic.clone(),
            queue_id: m.queue_id,
            commit_log_offset: u64::try_from(m.commit_log_offset).unwrap_or(0),
            size,
            queue_offset: m.queue_offset,
            tags_code: m
                .properties
                .tags()
                .map(|t| i64::from(tag_hash_code(t)))
                .unwrap_or(0),
            store_timestamp: m.store_timestamp,
            sys_flag: m.sys_flag,
            uniq_key: m.properties.uniq_key().map(str::to_owned),
            keys: m.properties.value(property::KEYS).map(str::to_owned),
            prepared_transaction_offset: m.prepared_transaction_offset,
        }
    }
}

/// One step of a record scan.
#[derive(Debug)]
pub enum Scan {
    /// A valid message record.
    Message(DispatchRequest),
    /// End-of-file blank: continue at the next file.
    EndOfFile,
    /// No valid record here: the log ends.
    End,
    /// A record whose bytes are not all written yet (a replica receives records in chunks
    /// that may end inside one): wait for the rest.
    Incomplete,
}

#[derive(Debug, Default)]
struct PutState {
    /// topic -> queue id -> next queue offset.
    queue_offsets: HashMap<String, HashMap<i32, i64>>,
}

/// The commitlog of a store.
#[derive(Debug)]
pub struct CommitLog {
    files: MappedFileQueue,
    /// Delay of each level in ms, for the delivery time of `SCHEDULE_TOPIC_XXXX` entries.
    delay_levels: Vec<u64>,
    put: Mutex<PutState>,
    flusher: Arc<Flusher>,
    /// `maxMessageSize`, changed at run time by [`CommitLog::apply`].
    max_message_size: AtomicUsize,
    /// End of the last whole record of a replicated log; `u64::MAX` until the first replicated
    /// append (a log written locally always ends on a record boundary).
    whole_end: AtomicU64,
    /// Set (under the put lock) once the log takes a master's bytes (a replicated append or a
    /// replica's cut), cleared when it becomes a writer again ([`CommitLog::end_replication`]).
    /// A local append is refused meanwhile: a send a broker admitted while it still led can
    /// reach the log after the broker turned slave, and would otherwise land between the
    /// master's bytes (or at the point just cut), leaving the cut record inside the copy.
    follows_master: AtomicBool,
}

pub(crate) use ferromq_common::now_ms;

/// The flush policy `config` asks for.
fn flush_policy(config: &StoreConfig) -> FlushPolicy {
    FlushPolicy {
        mode: config.flush_disk_type,
        interval: Duration::from_millis(config.flush_interval_commit_log.max(1)),
        least_bytes: config.flush_commit_log_least_pages * 4096,
        thorough_interval: Duration::from_millis(config.flush_commit_log_thorough_interval),
        sync_timeout: Duration::from_millis(config.sync_flush_timeout),
    }
}

impl CommitLog {
    /// Loads the commitlog files (every one counted as fully written until [`Self::recover`]).
    pub fn load(config: &StoreConfig) -> Result<CommitLog> {
        let size = usize::try_from(config.mapped_file_size_commit_log)
            .map_err(|_| StoreError::Corrupt("mappedFileSizeCommitLog too large".to_owned()))?;
        let files = MappedFileQueue::load(&config.commit_log_dir(), size)?.with_allocation_ahead();
        let flusher = Flusher::new(flush_policy(config), Fault::new());
        Ok(CommitLog {
            files,
            delay_levels: config.delay_levels(),
            put: Mutex::new(PutState::default()),
            flusher,
            max_message_size: AtomicUsize::new(config.max_message_size),
            whole_end: AtomicU64::new(u64::MAX),
            follows_master: AtomicBool::new(false),
        })
    }

    /// Takes the settings of `config` that may change while the store is open: the flush
    /// timings and `maxMessageSize`.
    pub fn apply(&self, config: &StoreConfig) {
        self.flusher.set_timing(flush_policy(config));
        self.max_message_size
            .store(config.max_message_size, Ordering::Relaxed);
    }

    /// The files.
    pub fn files(&self) -> &MappedFileQueue {
        &self.files
    }

    /// The flush service.
    pub fn flusher(&self) -> &Arc<Flusher> {
        &self.flusher
    }

    /// The store's fault state (a failed sync of the commitlog records it here).
    pub fn fault(&self) -> &Arc<Fault> {
        self.flusher.fault()
    }

    /// Records a fault for a sync failure.
    fn note(&self, e: StoreError) -> StoreError {
        if e.is_sync_failure() {
            self.fault().record(format_args!("commitlog: {e}"));
        }
        e
    }

    /// First offset still stored.
    pub fn min_offset(&self) -> u64 {
        self.files.min_offset()
    }

    /// Offset just past the last written byte.
    pub fn max_offset(&self) -> u64 {
        self.files.max_offset()
    }

    /// Offset just past the last byte on disk.
    pub fn flushed_offset(&self) -> u64 {
        self.files.flushed_offset()
    }

    /// Offset below which the commitlog is synced and ends on a record boundary: what the
    /// checkpoint may call durable. A replica's synced bytes may end inside a record whose rest
    /// has not arrived; that part is a torn tail, not acknowledged data.
    pub fn synced_whole_offset(&self) -> u64 {
        self.flushed_offset()
            .min(self.whole_end.load(Ordering::Acquire))
    }

    /// Offset just past the last whole record written (the max offset, except on a replica
    /// that has received part of a record).
    pub fn written_whole_offset(&self) -> u64 {
        self.max_offset()
            .min(self.whole_end.load(Ordering::Acquire))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PutState> {
        self.put.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the next queue offset of a queue (recovery, from the consume queues).
    pub fn set_queue_offset(&self, topic: &str, queue_id: i32, next: i64) {
        self.lock()
            .queue_offsets
            .entry(topic.to_owned())
            .or_default()
            .insert(queue_id, next);
    }

    /// The next queue offset the commitlog will assign in a queue.
    pub fn next_queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.lock()
            .queue_offsets
            .get(topic)
            .and_then(|q| q.get(&queue_id))
            .copied()
            .unwrap_or(0)
    }

    /// Forgets the queue offsets of a topic (topic deleted).
    pub fn remove_topic(&self, topic: &str) {
        self.lock().queue_offsets.remove(topic);
    }

    fn check<M: EncodeRecord>(&self, m: &M) -> Result<()> {
        let max_message_size = self.max_message_size.load(Ordering::Relaxed);
        if m.body().len() > max_message_size {
            return Err(StoreError::MessageIllegal(format!(
                "message body of {} bytes exceeds maxMessageSize {max_message_size}",
                m.body().len(),
            )));
        }
        if m.properties_len() > MAX_PROPERTIES_LEN {
            return Err(StoreError::MessageIllegal(format!(
                "properties of {} bytes exceed {MAX_PROPERTIES_LEN}",
                m.properties_len()
            )));
        }
        if m.topic().is_empty() || m.topic().len() > 255 {
            return Err(StoreError::MessageIllegal(format!(
                "topic length {} is not 1..=255",
                m.topic().len()
            )));
        }
        Ok(())
    }

    /// Appends one message. Its store timestamp, queue offset and commitlog offset are assigned
    /// here; every other field is written as given.
    pub fn append(&self, message: &MessageExt) -> Result<AppendResult> {
        self.append_batch(std::slice::from_ref(message))
    }

    /// Appends messages back to back in one file, with consecutive queue offsets (a batch goes to
    /// one queue). Nothing is written if any message is illegal.
    pub fn append_batch<M: EncodeRecord>(&self, messages: &[M]) -> Result<AppendResult> {
        let Some(first) = messages.first() else {
            return Err(StoreError::MessageIllegal("empty batch".to_owned()));
        };
        if messages
            .iter()
            .any(|m| m.topic() != first.topic() || m.queue_id() != first.queue_id())
        {
            return Err(StoreError::MessageIllegal(
                "a batch must go to one topic and queue".to_owned(),
            ));
        }
        // One allocation of the exact size: encoding never grows the buffer.
        let mut buf: Vec<u8> =
            Vec::with_capacity(messages.iter().map(EncodeRecord::encoded_len).sum());
        let mut spans = Vec::with_capacity(messages.len());
        let max_message_size = self.max_message_size.load(Ordering::Relaxed);
        for m in messages {
            self.check(m)?;
            let start = buf.len();
            m.encode_record(&mut buf, max_message_size)
                .map_err(|e| StoreError::MessageIllegal(e.to_string()))?;
            buf[start + BODY_CRC_POS..start + BODY_CRC_POS + 4]
                .copy_from_slice(&body_crc(m.body()).to_be_bytes());
            let born_len = if m.born_host_v6() { 20 } else { 8 };
            spans.push((start, buf.len() - start, BORN_HOST_POS + born_len));
        }
        let file_size = self.files.file_size();
        if buf.len() + BLANK_LEN > file_size {
            return Err(StoreError::MessageIllegal(format!(
                "{} bytes of records do not fit a commitlog file of {file_size} bytes",
                buf.len()
            )));
        }
        let consumable = matches!(
            sysflag::transaction_type(first.sys_flag()),
            TransactionType::NotTransaction | TransactionType::Commit
        );
        if let Some(reason) = self.fault().reason() {
            return Err(StoreError::NotWritable(format!(
                "store fault, writes refused until restart: {reason}"
            )));
        }

        let mut state = self.lock();
        if self.follows_master.load(Ordering::Acquire) {
            return Err(StoreError::NotWritable(
                "this log follows a master (replica): local writes are refused".to_owned(),
            ));
        }
        let next = state
            .queue_offsets
            .get(first.topic())
            .and_then(|q| q.get(&first.queue_id()))
            .copied()
            .unwrap_or(0);
        let queue_offset = if consumable { next } else { 0 };
        let mut file = self.files.writable(0).map_err(|e| self.note(e))?;
        if buf.len() + BLANK_LEN > file.remaining() {
            let remaining = file.remaining();
            let blank_len = i32::try_from(remaining).unwrap_or(i32::MAX);
            file.append(&[&blank_len.to_be_bytes(), &BLANK_MAGIC_CODE.to_be_bytes()]);
            file.seal();
            file = self.files.create_next(0).map_err(|e| self.note(e))?;
        }
        let base = file.start() + file.wrote() as u64;
        let store_timestamp = now_ms();
        let mut records = Vec::with_capacity(spans.len());
        for (i, (start, len, ts_pos)) in spans.iter().enumerate() {
            let rec = &mut buf[*start..*start + *len];
            let qo = if consumable {
                queue_offset + i as i64
            } else {
                0
            };
            let phys = base + *start as u64;
            rec[QUEUE_OFFSET_POS..QUEUE_OFFSET_POS + 8].copy_from_slice(&qo.to_be_bytes());
            rec[PHYSICAL_OFFSET_POS..PHYSICAL_OFFSET_POS + 8]
                .copy_from_slice(&(phys as i64).to_be_bytes());
            rec[*ts_pos..*ts_pos + 8].copy_from_slice(&store_timestamp.to_be_bytes());
            records.push((phys, *len));
        }
        if file.append(&[&buf]).is_none() {
            return Err(StoreError::NotWritable(
                "record did not fit after rolling".to_owned(),
            ));
        }
        self.files.wrote_to(&file);
        if consumable {
            let next = queue_offset + messages.len() as i64;
            // The topic is copied only the first time a queue of it is written.
            match state.queue_offsets.get_mut(first.topic()) {
                Some(queues) => {
                    queues.insert(first.queue_id(), next);
                }
                None => {
                    state
                        .queue_offsets
                        .entry(first.topic().to_owned())
                        .or_default()
                        .insert(first.queue_id(), next);
                }
            }
        }
        drop(state);
        Ok(AppendResult {
            commit_log_offset: base,
            bytes: buf.len(),
            queue_offset,
            store_timestamp,
            records,
        })
    }

    /// Appends bytes a master replicated (docs/store.md, "Replication"): `data` goes at exactly
    /// `offset`, which must be where this log ends, or, for an empty log, a file boundary (a
    /// master starts a fresh replica at the start of a file). A chunk never crosses a file
    /// boundary; a full file rolls over to the next. The bytes are the master's records,
    /// possibly cut anywhere: the dispatcher indexes a record once all of it is here.
    pub fn append_replicated(&self, offset: u64, data: &[u8]) -> Result<()> {
        if let Some(reason) = self.fault().reason() {
            return Err(StoreError::NotWritable(format!(
                "store fault, writes refused until restart: {reason}"
            )));
        }
        let _state = self.lock();
        self.follows_master.store(true, Ordering::Release);
        let file_size = self.files.file_size() as u64;
        let end = self.files.max_offset();
        if self.files.is_empty() {
            if !offset.is_multiple_of(file_size) {
                return Err(StoreError::NotWritable(format!(
                    "an empty replica starts at a file boundary; the master sent offset {offset}"
                )));
            }
        } else if offset != end {
            return Err(StoreError::NotWritable(format!(
                "the replica's log ends at {end}; the master sent offset {offset}"
            )));
        }
        if data.is_empty() {
            return Ok(());
        }
        let file = self.files.writable(offset).map_err(|e| self.note(e))?;
        let at = file.start() + file.wrote() as u64;
        if at != offset {
            return Err(StoreError::NotWritable(format!(
                "the replica's writable file is at {at}; the master sent offset {offset}"
            )));
        }
        if data.len() > file.remaining() {
            return Err(StoreError::NotWritable(format!(
                "a replicated chunk of {} bytes at {offset} crosses the file boundary at {}",
                data.len(),
                file.end()
            )));
        }
        if file.append(&[data]).is_none() {
            return Err(StoreError::NotWritable(format!(
                "a replicated chunk at {offset} did not fit"
            )));
        }
        self.files.wrote_to(&file);
        let from = match self.whole_end.load(Ordering::Acquire) {
            u64::MAX => offset,
            whole => whole,
        };
        self.whole_end
            .store(self.whole_records_end(from), Ordering::Release);
        Ok(())
    }

    /// A replica cuts its log at `offset`, a record boundary (controller mode: a tail its new
    /// master does not have), without writing bytes readers may hold
    /// ([`MappedFileQueue::truncate_live`]).
    pub fn truncate_replica(&self, offset: u64) -> Result<()> {
        let _state = self.lock();
        self.follows_master.store(true, Ordering::Release);
        self.files.truncate_live(offset)?;
        self.whole_end
            .store(self.files.max_offset().min(offset), Ordering::Release);
        Ok(())
    }

    /// A replica about to take local writes (controller mode): drops a record its master sent
    /// only part of, so the log ends on a record boundary; returns the log's end.
    pub fn end_replication(&self) -> Result<u64> {
        let _state = self.lock();
        self.follows_master.store(false, Ordering::Release);
        let end = self.files.max_offset();
        let whole = self.whole_end.swap(u64::MAX, Ordering::AcqRel);
        if whole == u64::MAX || whole >= end {
            return Ok(end);
        }
        match self.files.last() {
            Some(file) if file.start() <= whole => {
                file.rewind((whole - file.start()) as usize);
                Ok(whole)
            }
            _ => {
                // Still a replica: it cannot take local writes.
                self.follows_master.store(true, Ordering::Release);
                Err(StoreError::NotWritable(format!(
                    "a partial record from {whole} spans files up to {end}; restart the broker \
                     to recover its tail"
                )))
            }
        }
    }

    /// Walks whole records (and end-of-file blanks) from `from`, a record boundary; returns
    /// where the first record not yet entirely written starts.
    fn whole_records_end(&self, from: u64) -> u64 {
        let mut at = from;
        loop {
            let Some(file) = self.files.find(at) else {
                return at;
            };
            let pos = (at - file.start()) as usize;
            let Some(head) = file.bytes(pos, 8) else {
                return at;
            };
            let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            let magic = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
            if magic == BLANK_MAGIC_CODE {
                at = file.end();
                continue;
            }
            match usize::try_from(size) {
                Ok(size) if size >= 8 && pos + size <= file.wrote() => at += size as u64,
                _ => return at,
            }
        }
    }

    /// Up to `max` written bytes from `offset`, within the file holding it (what a master sends
    /// a replica); `None` when `offset` is not stored, empty when nothing is written there yet.
    pub fn data_from(&self, offset: u64, max: usize) -> Option<Bytes> {
        let file = self.files.find(offset)?;
        let pos = usize::try_from(offset - file.start()).ok()?;
        let len = file.wrote().saturating_sub(pos).min(max);
        if len == 0 {
            return Some(Bytes::new());
        }
        file.read(pos, len)
    }

    /// A ticket for the bytes before `end` reaching the disk (complete at once under
    /// ASYNC_FLUSH).
    pub fn flush_ticket(&self, end: u64) -> FlushTicket {
        self.flusher.request(end, &self.files)
    }

    /// Zero-copy bytes `offset..offset + len`, if written and still stored (within one file).
    pub fn read(&self, offset: u64, len: usize) -> Option<Bytes> {
        let file = self.files.find(offset)?;
        file.read(usize::try_from(offset - file.start()).ok()?, len)
    }

    /// The whole record at `offset`.
    pub fn read_record(&self, offset: u64) -> Option<Bytes> {
        let file = self.files.find(offset)?;
        let pos = usize::try_from(offset - file.start()).ok()?;
        let head = file.bytes(pos, 4)?;
        let size =
            usize::try_from(i32::from_be_bytes([head[0], head[1], head[2], head[3]])).ok()?;
        if size < 8 {
            return None;
        }
        file.read(pos, size)
    }

    /// Parses the record at `offset` (which must be written). `check_crc` verifies the body.
    pub fn scan(&self, offset: u64, check_crc: bool) -> Scan {
        let Some(file) = self.files.find(offset) else {
            return Scan::End;
        };
        let Ok(pos) = usize::try_from(offset - file.start()) else {
            return Scan::End;
        };
        let Some(head) = file.bytes(pos, 8) else {
            return if pos < file.size() && file.wrote() < pos + 8 && file.wrote() > pos {
                Scan::Incomplete
            } else {
                Scan::End
            };
        };
        let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let magic = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if magic == BLANK_MAGIC_CODE {
            return Scan::EndOfFile;
        }
        let Ok(size) = usize::try_from(size) else {
            return Scan::End;
        };
        let Some(bytes) = file.bytes(pos, size) else {
            // A plausible record (it fits in its file) running past what is written yet.
            return if size >= 8 && pos + size <= file.size() && file.wrote() < pos + size {
                Scan::Incomplete
            } else {
                Scan::End
            };
        };
        // Read in place: the record is not decoded into a `MessageExt` (a topic string and a
        // properties map) to find the three properties dispatch needs.
        match RecordView::parse(bytes, check_crc) {
            Ok(v) if v.store_size == size && v.commit_log_offset == offset as i64 => {
                Scan::Message(self.dispatch_request(&v))
            }
            _ => Scan::End,
        }
    }

    /// What dispatch needs of a record.
    fn dispatch_request(&self, v: &RecordView<'_>) -> DispatchRequest {
        const TAGS: usize = 0;
        const UNIQ_KEY: usize = 1;
        const KEYS: usize = 2;
        const DELAY: usize = 3;
        const TIMER_OUT_MS: usize = 4;
        let props = v.scan(&[
            property::TAGS,
            property::UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
            property::KEYS,
            property::DELAY_TIME_LEVEL,
            property::TIMER_OUT_MS,
        ]);
        // A property as `Properties::decode_bytes` reads it (invalid UTF-8 replaced).
        let text = |i: usize| props.values[i].map(String::from_utf8_lossy);
        let tags_code = if v.topic == SCHEDULE_TOPIC {
            // A scheduled entry's tag code is its delivery time (docs/store.md, "Consume
            // queues").
            let level = text(DELAY)
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, self.delay_levels.len().max(1));
            let delay = self.delay_levels.get(level - 1).copied().unwrap_or(0);
            v.store_timestamp + i64::try_from(delay).unwrap_or(0)
        } else if v.topic == TIMER_TOPIC {
            // A timer entry's tag code is its delivery time too (`TIMER_OUT_MS`).
            text(TIMER_OUT_MS)
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(v.store_timestamp)
        } else {
            text(TAGS)
                .map(|t| i64::from(tag_hash_code(&t)))
                .unwrap_or(0)
        };
        DispatchRequest {
            topic: v.topic.to_owned(),
            queue_id: v.queue_id,
            commit_log_offset: u64::try_from(v.commit_log_offset).unwrap_or(0),
            size: v.store_size,
            queue_offset: v.queue_offset,
            tags_code,
            store_timestamp: v.store_timestamp,
            sys_flag: v.sys_flag,
            uniq_key: text(UNIQ_KEY).map(|k| k.into_owned()),
            keys: text(KEYS).map(|k| k.into_owned()),
            prepared_transaction_offset: v.prepared_transaction_offset,
        }
    }

    /// Offset of the first record of the file after the one holding `offset`.
    pub fn next_file_start(&self, offset: u64) -> u64 {
        let size = self.files.file_size() as u64;
        offset - offset % size + size
    }

    /// Recovery: scans valid records from `from`, handing each to `on_record`, and truncates
    /// the log after the last valid one. Returns the end offset.
    ///
    /// `durable` is the offset below which the commitlog is known to be on disk (the flushed
    /// offset of the checkpoint; 0 when unknown). An invalid record, or the end of the files,
    /// before it means acknowledged data is damaged or missing: recovery fails with an error
    /// naming the file and offset, unless `force` (`forceRecoverCorruptCommitLog`) is set, in
    /// which case the log is truncated there as if it were a torn tail. Everything from
    /// `min(from, durable)` on is synced before returning, so a later checkpoint may call the
    /// whole log durable.
    pub fn recover(
        &self,
        from: u64,
        check_crc: bool,
        durable: u64,
        force: bool,
        mut on_record: impl FnMut(&DispatchRequest),
    ) -> Result<u64> {
        let mut offset = from.max(self.min_offset());
        let end = loop {
            match self.scan(offset, check_crc) {
                Scan::Message(req) => {
                    offset += req.size as u64;
                    on_record(&req);
                }
                Scan::EndOfFile => {
                    let next = self.next_file_start(offset);
                    if self.files.find(next).is_none() {
                        // The blank sealed the last file: the log ends at its end.
                        break next;
                    }
                    offset = next;
                }
                Scan::End | Scan::Incomplete => break offset,
            }
        };
        if self.files.is_empty() {
            if durable > 0 && !force {
                return Err(StoreError::Corrupt(format!(
                    "the commitlog directory {} holds no file, but the checkpoint records data \
                     synced up to offset {durable}; set forceRecoverCorruptCommitLog=true to \
                     start with an empty commitlog",
                    self.files.dir().display()
                )));
            }
            return Ok(0);
        }
        if end < durable {
            let (file, pos) = match self.files.find(end) {
                Some(f) => (f.path().display().to_string(), end - f.start()),
                None => (
                    self.files
                        .dir()
                        .join(crate::mapped_file::file_name(end))
                        .display()
                        .to_string(),
                    0,
                ),
            };
            let what = format!(
                "commitlog {file}: no valid record at offset {end} (position {pos} in the file; \
                 bad length, CRC or stored offset, or the file is missing), before the offset \
                 {durable} the checkpoint records as synced: acknowledged data is corrupt or \
                 lost"
            );
            if !force {
                return Err(StoreError::Corrupt(format!(
                    "{what}. Start-up stopped; set forceRecoverCorruptCommitLog=true to truncate \
                     the commitlog at offset {end}, discarding every record after it"
                )));
            }
            tracing::error!(
                "{what}; forceRecoverCorruptCommitLog=true: truncating at offset {end}, \
                 discarding at least {} bytes",
                durable - end
            );
        }
        self.files.truncate(end)?;
        // A crashed process leaves its unsynced writes in the page cache, also below `from`
        // under ASYNC_FLUSH (dispatch runs ahead of the sync): sync from what was known synced.
        let sync_from = from.min(durable);
        for f in self.files.files() {
            if f.end() > sync_from {
                f.sync_written()?;
            }
        }
        Ok(end)
    }
}
