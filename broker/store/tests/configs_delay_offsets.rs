//! `delayOffset.json`: byte-exact golden text against Apache's, Apache's pretty file, older
//! files without `dataVersion`, load/persist.

use std::collections::BTreeMap;

use ferromq_store::configs::DelayOffsetTable;

fn vector(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/configs_vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn re_encodes_apache_text_byte_for_byte() {
    let compact = vector("apache-5.3.3-delayOffset.compact.json");
    let table = DelayOffsetTable::decode(&compact).expect("compact");
    assert_eq!(table.encode().as_bytes(), &compact[..]);

    let pretty =
        DelayOffsetTable::decode(&vector("apache-5.3.3-delayOffset.pretty.json")).expect("pretty");
    assert_eq!(pretty.offsets(), BTreeMap::from([(1, 0), (2, 17), (3, 5)]));
    assert_eq!(pretty.data_version().counter, 1);
}

#[test]
fn golden_text_levels_in_numeric_order() {
    let table = DelayOffsetTable::new();
    for level in [18, 2, 10, 1] {
        table.update(level, i64::from(level) * 100);
    }
    let ts = table.data_version().timestamp;
    let expected = format!(
        r#"{{"dataVersion":{{"counter":0,"stateVersion":0,"timestamp":{ts}}},"offsetTable":{{1:100,2:200,10:1000,18:1800}}}}"#
    );
    assert_eq!(table.encode(), expected);
    assert_eq!(
        DelayOffsetTable::decode(expected.as_bytes())
            .expect("round trip")
            .encode(),
        expected
    );
}

#[test]
fn older_and_lenient_files() {
    let table =
        DelayOffsetTable::decode(br#"{"offsetTable":{"1":"4",2:5,"3":null}}"#).expect("4.x");
    assert_eq!(table.get(1), Some(4));
    assert_eq!(table.get(2), Some(5));
    assert_eq!(table.get(3), None);
    assert!(table.data_version().timestamp > 0);
    assert!(DelayOffsetTable::decode(b"{}")
        .expect("empty")
        .offsets()
        .is_empty());
    assert!(DelayOffsetTable::decode(br#"{"offsetTable":[1]}"#).is_err());
    assert!(DelayOffsetTable::decode(br#"{"offsetTable":{"one":1}}"#).is_err());
}

#[test]
fn version_step_and_persist_cycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config").join(DelayOffsetTable::FILE_NAME);
    let table = DelayOffsetTable::load(&path)
        .expect("fresh")
        .with_version_step(2);
    assert!(table.offsets().is_empty());
    for i in 0..5 {
        table.update(1, i);
    }
    assert_eq!(table.data_version().counter, 2);
    assert!(table.persist().expect("persist"));
    assert!(!table.is_dirty());
    table.update(3, 9);
    assert!(table.is_dirty());
    assert!(table.persist().expect("persist again"));

    std::fs::write(&path, b"{\"dataVersion\":{\"coun").expect("tear");
    let recovered = DelayOffsetTable::load(&path).expect("from .bak");
    assert_eq!(recovered.offsets(), BTreeMap::from([(1, 4)]));
}
