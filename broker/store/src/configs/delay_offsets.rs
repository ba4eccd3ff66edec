//! `config/delayOffset.json`: progress of the delay-level scheduler (Apache
//! `ScheduleMessageService` with `DelayOffsetSerializeWrapper`).
//!
//! The key is the delay level (1-based); the value is the next consume-queue offset of queue
//! `level - 1` of `SCHEDULE_TOPIC_XXXX`. Apache 5.3.3 writes its `dataVersion` too:
//!
//! ```text
//! {"dataVersion":{"counter":0,"stateVersion":0,"timestamp":..},"offsetTable":{1:0,2:17}}
//! ```

use std::collections::BTreeMap;
use std::sync::Mutex;

use ferromq_protocol::body::DataVersion;
use ferromq_protocol::json::{self, Value};

use super::file::{self, read_data_version, read_int_map, write_int_map};
use super::table::{ConfigTable, TableContents};
use crate::error::Result;

/// Apache `delayOffsetUpdateVersionStep`: the data version advances once per this many
/// updates.
pub const DEFAULT_VERSION_STEP: u64 = 200;

#[derive(Debug)]
struct Inner {
    offsets: BTreeMap<i32, i64>,
    data_version: DataVersion,
    updates: u64,
}

/// What `delayOffset.json` holds: each level's next offset and the data version.
#[derive(Debug)]
pub struct DelayOffsets {
    inner: Mutex<Inner>,
    version_step: u64,
}

impl DelayOffsets {
    fn with(offsets: BTreeMap<i32, i64>, data_version: DataVersion) -> Self {
        DelayOffsets {
            inner: Mutex::new(Inner {
                offsets,
                data_version,
                updates: 0,
            }),
            version_step: DEFAULT_VERSION_STEP,
        }
    }
}

impl TableContents for DelayOffsets {
    const FILE_NAME: &'static str = "delayOffset.json";

    fn empty() -> Self {
        Self::with(BTreeMap::new(), DataVersion::now())
    }

    /// Fastjson's text, pretty or compact, with bare or quoted levels, with or without
    /// `dataVersion`, or ours.
    fn decode(bytes: &[u8]) -> Result<Self> {
        let (offsets, version) = decode_parts(bytes)?;
        Ok(Self::with(offsets, version))
    }

    /// Compact, levels ascending and written bare.
    fn encode(&self) -> String {
        let inner = file::lock(&self.inner);
        let mut out = String::with_capacity(96 + inner.offsets.len() * 16);
        out.push_str("{\"dataVersion\":");
        out.push_str(&inner.data_version.to_json());
        out.push_str(",\"offsetTable\":");
        write_int_map(&inner.offsets, &mut out);
        out.push('}');
        out
    }
    fn replace_with(&self, other: Self) {
        let other = other.inner.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut inner = file::lock(&self.inner);
        inner.offsets = other.offsets;
        inner.data_version = other.data_version;
    }
}

/// Next offsets of the delay levels, stored in `config/delayOffset.json`.
///
/// Shared by reference (`Arc`) between the per-level delivery tasks. Updates only mark the
/// table dirty; the broker calls [`ConfigTable::persist`] periodically (Apache: every
/// `flushDelayOffsetInterval` = 10 s) and at shutdown, from a blocking context.
pub type DelayOffsetTable = ConfigTable<DelayOffsets>;

impl ConfigTable<DelayOffsets> {
    /// Sets how many updates advance the data version once (Apache
    /// `delayOffsetUpdateVersionStep`, default [`DEFAULT_VERSION_STEP`]; 0 is taken as 1).
    pub fn with_version_step(mut self, step: u64) -> Self {
        self.contents_mut().version_step = step.max(1);
        self
    }

    /// Records `offset` as the next offset to deliver for delay level `level` (1-based).
    pub fn update(&self, level: i32, offset: i64) {
        let contents = self.contents();
        {
            let mut inner = file::lock(&contents.inner);
            inner.offsets.insert(level, offset);
            inner.updates += 1;
            if inner.updates.is_multiple_of(contents.version_step) {
                inner.data_version.next_version();
            }
        }
        self.changed();
    }

    /// The next offset of delay level `level`, if recorded (Apache starts a level at 0).
    pub fn get(&self, level: i32) -> Option<i64> {
        file::lock(&self.contents().inner)
            .offsets
            .get(&level)
            .copied()
    }

    /// Every recorded level and its next offset.
    pub fn offsets(&self) -> BTreeMap<i32, i64> {
        file::lock(&self.contents().inner).offsets.clone()
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        file::lock(&self.contents().inner).data_version.clone()
    }
}

const WHAT: &str = "delayOffset.json";

fn decode_parts(bytes: &[u8]) -> Result<(BTreeMap<i32, i64>, DataVersion)> {
    let root = json::parse(bytes).map_err(|e| file::corrupt(WHAT, e))?;
    if !root.is_object() {
        return Err(file::corrupt(WHAT, "expected a JSON object"));
    }
    let version = read_data_version(WHAT, &root)?;
    let offsets = match root.get("offsetTable") {
        None => None,
        Some(v @ (Value::Null | Value::Object(_))) => read_int_map(WHAT, v)?,
        Some(_) => return Err(file::corrupt(WHAT, "offsetTable is not an object")),
    };
    Ok((offsets.unwrap_or_default(), version))
}
