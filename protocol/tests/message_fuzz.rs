//! Random input never panics any message decoder.

use bytes::Bytes;
use ferromq_protocol::message::{
    decode_all, decode_batch, decode_record, decompress, CompressionType, DecodeOptions,
    MessageExt, MessageId, Properties, TagSubscription, UniqKey,
};
use proptest::prelude::*;

/// Random bytes, sometimes behind a plausible TOTALSIZE + magic header so the decoders get past
/// the first checks.
fn record_like() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..400),
    )
        .prop_map(|(header, v2, mut tail)| {
            if header {
                let mut v = ((tail.len() + 8) as i32).to_be_bytes().to_vec();
                v.extend_from_slice(if v2 {
                    &[0xDA, 0xA3, 0x20, 0xAB]
                } else {
                    &[0xDA, 0xA3, 0x20, 0xA7]
                });
                v.append(&mut tail);
                v
            } else {
                tail
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn stored_decoders_never_panic(data in record_like(), offset in 0usize..16) {
        let buf = Bytes::from(data);
        let opts = DecodeOptions { verify_crc: true, decompress: true, max_decompressed_size: 1 << 16 };
        let _ = decode_record(&buf, offset, &opts);
        let _ = decode_record(&buf, offset, &DecodeOptions::default());
        let _ = decode_all(&buf, &opts);
    }

    #[test]
    fn batch_decoder_never_panics(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_batch(&Bytes::from(data));
    }

    #[test]
    fn text_decoders_never_panic(s in "\\PC{0,60}", raw in prop::collection::vec(any::<u8>(), 0..80)) {
        let _ = Properties::decode(&s);
        let _ = Properties::decode_bytes(&raw);
        let _ = MessageId::parse(&s);
        let _ = UniqKey::parse(&s);
        let _ = TagSubscription::parse(&s);
    }

    #[test]
    fn decompressors_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let cases: [(CompressionType, &[u8]); 3] = [
            (CompressionType::Zlib, &[0x78, 0x9C]),
            (CompressionType::Lz4, &[0x04, 0x22, 0x4D, 0x18]),
            (CompressionType::Zstd, &[0x28, 0xB5, 0x2F, 0xFD]),
        ];
        for (ty, magic) in cases {
            let _ = decompress(&data, ty, 1 << 16);
            // Behind a valid magic number the decoders get further.
            let mut framed = magic.to_vec();
            framed.extend_from_slice(&data);
            let _ = decompress(&framed, ty, 1 << 16);
        }
    }

    #[test]
    fn stored_round_trip(
        topic in "[A-Za-z0-9%_|-]{1,200}",
        body in prop::collection::vec(any::<u8>(), 0..200),
        props in prop::collection::btree_map("[a-zA-Z_ä]{1,8}", "[^\u{1}\u{2}]{1,12}", 0..5),
        flag: i32, queue_offset: i64, sys_flag in 0i32..0x700,
    ) {
        let mut m = MessageExt {
            topic,
            body: Bytes::from(body),
            properties: props.into(),
            flag,
            queue_offset,
            sys_flag: sys_flag & !0x30,
            ..MessageExt::default()
        };
        m.refresh_body_crc();
        let buf = m.encode_to_bytes().expect("encode");
        let all = decode_all(&buf, &DecodeOptions::store()).expect("decode");
        prop_assert_eq!(all.len(), 1);
        m.store_size = buf.len() as i32;
        m.version = m.encoded_version();
        prop_assert_eq!(&all[0], &m);
    }
}
