//! The REGISTER_BROKER body (docs/protocol.md, "Topic configs and broker registration") in its JSON
//! and zlib-compressed binary forms.
//!
//! Compressed layout (zlib stream, `Deflater.BEST_COMPRESSION`), every integer a big-endian
//! `int32`:
//!
//! ```text
//! len, DataVersion JSON
//! topicCount, then per topic: len, TopicConfig compact string ("name r w perm TYPE {attrs}")
//! len, filterServerList JSON array
//! (broker version >= V5_0_0 = 413) mappingCount, then per mapping: len, TopicQueueMappingInfo JSON
//! ```

use std::collections::BTreeMap;
use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};

use super::topic::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use crate::codes::Version;
use crate::error::{ProtocolError, Result};
use crate::json::{self, Style, Value};

/// Default bound on the inflated size of a compressed register body.
pub const DEFAULT_MAX_INFLATED: usize = 16 * 1024 * 1024;

const WHAT: &str = "compressed RegisterBrokerBody";

/// What a broker sends to register (`RegisterBrokerBody`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RegisterBrokerBody {
    /// Filter-server addresses (empty in practice).
    #[serde(deserialize_with = "super::de::string_vec")]
    pub filter_server_list: Vec<String>,
    /// The broker's topic table.
    #[serde(deserialize_with = "super::de::nullable")]
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

json_body!(RegisterBrokerBody);

impl RegisterBrokerBody {
    /// Decodes a REGISTER_BROKER request body the way the Java name server does: an empty body
    /// is an empty table with a zeroed [`DataVersion`]; brokers older than V3_0_11 (37) send a
    /// bare [`TopicConfigSerializeWrapper`]; `compressed` (the header flag) selects the binary
    /// form, inflated up to [`DEFAULT_MAX_INFLATED`] bytes; otherwise JSON.
    pub fn decode_request(body: &[u8], compressed: bool, broker_version: Version) -> Result<Self> {
        if body.is_empty() {
            return Ok(RegisterBrokerBody::default());
        }
        if broker_version < Version::V3_0_11 {
            return Ok(RegisterBrokerBody {
                topic_config_serialize_wrapper: TopicConfigSerializeWrapper::decode(body)?,
                ..RegisterBrokerBody::default()
            });
        }
        if compressed {
            Self::decode_compressed(body, broker_version, DEFAULT_MAX_INFLATED)
        } else {
            Self::decode(body)
        }
    }

    /// Encodes the compressed form. The mapping section is written only for
    /// `broker_version >= V5_0_0`, mirroring what the name server expects from that broker.
    pub fn encode_compressed(&self, broker_version: Version) -> Vec<u8> {
        let wrapper = &self.topic_config_serialize_wrapper;
        let mut raw = Vec::new();
        put_chunk(&mut raw, wrapper.data_version.to_json().as_bytes());
        put_len(&mut raw, wrapper.topic_config_table.len());
        for tc in wrapper.topic_config_table.values() {
            put_chunk(&mut raw, tc.encode_compact().as_bytes());
        }
        put_chunk(
            &mut raw,
            json::to_string(&self.filter_server_list).as_bytes(),
        );
        if broker_version >= Version::V5_0_0 {
            let infos = wrapper.topic_queue_mapping_info_map.as_ref();
            put_len(&mut raw, infos.map_or(0, BTreeMap::len));
            let style = Style {
                bare_int_keys_in: &["currIdMap"],
                ..Style::default()
            };
            for info in infos.into_iter().flat_map(BTreeMap::values) {
                put_chunk(&mut raw, json::to_string_styled(info, &style).as_bytes());
            }
        }
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        // Compressing into a Vec performs no I/O and cannot fail.
        enc.write_all(&raw)
            .and_then(|()| enc.finish())
            .unwrap_or_default()
    }

    /// Decodes the compressed form, inflating at most `max_inflated` bytes. Truncated, corrupt
    /// or oversized input is an error. As in Java, an unparsable filter-server list is read as
    /// empty and bytes after the last section are ignored; unlike Java, a stream that ends right
    /// before the mapping section (a 4.x body with a 5.x version) is accepted.
    pub fn decode_compressed(
        data: &[u8],
        broker_version: Version,
        max_inflated: usize,
    ) -> Result<Self> {
        let raw = inflate(data, max_inflated)?;
        let mut cur = Cursor { buf: &raw, pos: 0 };

        let data_version = DataVersion::decode(cur.chunk("DataVersion")?)?;
        let topic_count = cur.len("topic count")?;
        let mut table = BTreeMap::new();
        for _ in 0..topic_count {
            let text = std::str::from_utf8(cur.chunk("TopicConfig")?)
                .map_err(|_| ProtocolError::malformed(WHAT, "TopicConfig is not UTF-8"))?;
            let tc = TopicConfig::decode_compact(text)?;
            table.insert(tc.topic_name.clone(), tc);
        }
        let filter_server_list = json::parse(cur.chunk("filterServerList")?)
            .ok()
            .and_then(|v| super::de::string_vec(v).ok())
            .unwrap_or_default();

        let mut mapping = None;
        if broker_version >= Version::V5_0_0 && !cur.at_end() {
            let count = cur.len("mapping count")?;
            let mut infos = BTreeMap::new();
            for _ in 0..count {
                let info = json::parse(cur.chunk("TopicQueueMappingInfo")?)?;
                let topic = match info.get("topic") {
                    Some(Value::String(t)) => t.clone(),
                    _ => {
                        return Err(ProtocolError::malformed(
                            WHAT,
                            "TopicQueueMappingInfo without a topic",
                        ))
                    }
                };
                infos.insert(topic, info);
            }
            mapping = Some(infos);
        }

        Ok(RegisterBrokerBody {
            filter_server_list,
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                data_version,
                topic_config_table: table,
                topic_queue_mapping_info_map: mapping,
                ..TopicConfigSerializeWrapper::default()
            },
        })
    }
}

fn inflate(data: &[u8], max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    ZlibDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| ProtocolError::malformed(WHAT, format!("inflate failed: {e}")))?;
    if out.len() > max {
        return Err(ProtocolError::TooLarge {
            what: "inflated RegisterBrokerBody",
            len: out.len(),
            max,
        });
    }
    Ok(out)
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&i32::try_from(len).unwrap_or(i32::MAX).to_be_bytes());
}

fn put_chunk(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let available = self.buf.len() - self.pos;
        if n > available {
            return Err(ProtocolError::truncated(what, n, available));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A non-negative `int32` count or length.
    fn len(&mut self, what: &'static str) -> Result<usize> {
        let b = self.take(4, what)?;
        let v = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        usize::try_from(v)
            .map_err(|_| ProtocolError::malformed(WHAT, format!("negative {what}: {v}")))
    }

    fn chunk(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let n = self.len(what)?;
        self.take(n, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RegisterBrokerBody {
        let mut w = TopicConfigSerializeWrapper::default();
        w.data_version.next_version_at(0, 1_700_000_000_000);
        for (name, q) in [("T1", 4), ("%RETRY%G", 1)] {
            w.topic_config_table
                .insert(name.into(), TopicConfig::new(name, q, q));
        }
        RegisterBrokerBody {
            filter_server_list: vec![],
            topic_config_serialize_wrapper: w,
        }
    }

    #[test]
    fn json_form() {
        let body = sample();
        let text = body.to_json();
        assert!(text.starts_with(
            r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":1700000000000},"topicConfigTable":{"%RETRY%G":{"#
        ));
        assert_eq!(
            RegisterBrokerBody::decode(text.as_bytes()).expect("rt"),
            body
        );
        let req = RegisterBrokerBody::decode_request(&body.encode(), false, Version::V5_3_3)
            .expect("request");
        assert_eq!(req, body);
        let empty = RegisterBrokerBody::decode_request(b"", false, Version::V5_3_3).expect("empty");
        assert_eq!(empty.topic_config_serialize_wrapper.data_version.counter, 0);
        let old_wrapper = body.topic_config_serialize_wrapper.encode();
        let old =
            RegisterBrokerBody::decode_request(&old_wrapper, false, Version(30)).expect("old");
        assert_eq!(old, body);
    }

    #[test]
    fn compressed_round_trip_both_versions() {
        let mut body = sample();
        for v in [Version::V4_9_8, Version::V5_3_3] {
            let bytes = body.encode_compressed(v);
            let back = RegisterBrokerBody::decode_compressed(&bytes, v, DEFAULT_MAX_INFLATED)
                .expect("decode");
            assert_eq!(
                back.topic_config_serialize_wrapper.topic_config_table,
                body.topic_config_serialize_wrapper.topic_config_table
            );
            assert_eq!(
                back.topic_config_serialize_wrapper.data_version,
                body.topic_config_serialize_wrapper.data_version
            );
            assert_eq!(
                back.topic_config_serialize_wrapper
                    .topic_queue_mapping_info_map
                    .is_some(),
                v >= Version::V5_0_0
            );
        }
        // A 4.9 body read with a 5.x version: no mapping section, accepted.
        let bytes = body.encode_compressed(Version::V4_9_8);
        assert!(RegisterBrokerBody::decode_request(&bytes, true, Version::V5_3_3).is_ok());
        // Mapping infos survive.
        let info = json::parse(
            br#"{"bname":"b","currIdMap":{0:1},"epoch":0,"topic":"T1","totalQueues":1}"#,
        )
        .expect("info");
        body.topic_config_serialize_wrapper
            .topic_queue_mapping_info_map = Some([("T1".to_string(), info)].into_iter().collect());
        let bytes = body.encode_compressed(Version::V5_3_3);
        let back =
            RegisterBrokerBody::decode_compressed(&bytes, Version::V5_3_3, 1 << 20).expect("map");
        assert_eq!(
            back.topic_config_serialize_wrapper
                .topic_queue_mapping_info_map,
            body.topic_config_serialize_wrapper
                .topic_queue_mapping_info_map
        );
    }

    #[test]
    fn compressed_bounds_and_garbage() {
        let bytes = sample().encode_compressed(Version::V5_3_3);
        for n in 0..bytes.len() {
            assert!(
                RegisterBrokerBody::decode_compressed(&bytes[..n], Version::V5_3_3, 1 << 20)
                    .is_err(),
                "cut at {n}"
            );
        }
        assert!(matches!(
            RegisterBrokerBody::decode_compressed(&bytes, Version::V5_3_3, 10),
            Err(ProtocolError::TooLarge { .. })
        ));
        // A huge count with nothing behind it.
        let mut raw = Vec::new();
        put_chunk(&mut raw, b"{}");
        raw.extend_from_slice(&i32::MAX.to_be_bytes());
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&raw).expect("write");
        let bytes = enc.finish().expect("finish");
        assert!(RegisterBrokerBody::decode_compressed(&bytes, Version::V5_3_3, 1 << 20).is_err());
        // A zip bomb is cut off at the limit.
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&vec![0u8; 4 << 20]).expect("write");
        let bomb = enc.finish().expect("finish");
        assert!(matches!(
            RegisterBrokerBody::decode_compressed(&bomb, Version::V5_3_3, 1 << 20),
            Err(ProtocolError::TooLarge { .. })
        ));
    }
}
