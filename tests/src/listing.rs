//! Comparing the layout of two `mqadmin` outputs (Apache's and FerroMQ's) of the same command
//! against the same cluster, without comparing the values that legitimately differ between two
//! runs (times, TPS, file names).
//!
//! An output is read as Apache's commands print it ([`Layout::parse`]):
//!
//! - a line starting with `#` is a header (`#Topic   #Broker Name   #QID ...`); a `#Key<TAB>value`
//!   line (`haStatus`) is a header too, of its key only;
//! - the lines after a header, up to a blank line or the next header, are that table's rows,
//!   split into columns on runs of two or more spaces (or tabs): Apache's `printf` widths always
//!   leave two spaces between columns, and single spaces stay inside a value
//!   (`2026-12-06 19:10:04`);
//! - any other line is a text line, known by its label ([`label`]): the text before its first
//!   `=` or `: ` (`Topic Put TPS: 0.0`, `brokerName  =  broker-a`,
//!   `127.0.0.1:10911   putTps   : 0.0`), or the whole line (`topicList`).
//!
//! [`compare_layouts`] then asks for the same header lines (byte for byte, trailing blanks
//! aside), the same rows in each table (by first column, as a multiset) with the same column
//! count, and the same text-line labels (as a multiset: Apache prints `Properties` in hash
//! order).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One table: its header line and its rows' columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The header line (trailing blanks removed); for a `#Key<TAB>value` line, the key.
    pub header: String,
    /// Each row's columns.
    pub rows: Vec<Vec<String>>,
}

/// The layout of one output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Tables in output order.
    pub tables: Vec<Table>,
    /// Labels of the lines outside tables, in output order.
    pub labels: Vec<String>,
}

/// `line` split on runs of two or more blanks (spaces or tabs count as blanks; a tab alone
/// separates too), empty columns dropped.
pub fn columns(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut blanks = String::new();
    for c in line.chars() {
        if c == ' ' || c == '\t' {
            blanks.push(c);
            continue;
        }
        if !blanks.is_empty() {
            if blanks.len() >= 2 || blanks.contains('\t') {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            } else if !current.is_empty() {
                current.push(' ');
            }
            blanks.clear();
        }
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The label of a text line: before its first `=`, or `:` ending the line or followed by a
/// blank (so `127.0.0.1:10911  key : value` keeps the address), blank runs made one space; the
/// whole line if it has neither.
pub fn label(line: &str) -> String {
    let bytes = line.as_bytes();
    let end = bytes
        .iter()
        .enumerate()
        .find(|&(i, &b)| {
            b == b'=' || (b == b':' && bytes.get(i + 1).is_none_or(|n| *n == b' ' || *n == b'\t'))
        })
        .map_or(line.len(), |(i, _)| i);
    line[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Layout {
    /// Reads `output` (see the module docs).
    pub fn parse(output: &str) -> Layout {
        let mut layout = Layout::default();
        let mut in_table = false;
        for line in output.lines() {
            let line = line.trim_end();
            if line.trim().is_empty() {
                in_table = false;
                continue;
            }
            if line.starts_with('#') {
                let header = match line.split_once('\t') {
                    Some((key, _)) => key.trim_end().to_owned(),
                    None => line.to_owned(),
                };
                layout.tables.push(Table {
                    header,
                    rows: Vec::new(),
                });
                in_table = true;
                continue;
            }
            match layout.tables.last_mut() {
                Some(table) if in_table => table.rows.push(columns(line)),
                _ => layout.labels.push(label(line)),
            }
        }
        layout
    }

    /// Whether `key` is a column of a row of some table, or a text-line label.
    pub fn has(&self, key: &str) -> bool {
        self.labels.iter().any(|l| l == key)
            || self
                .tables
                .iter()
                .flat_map(|t| &t.rows)
                .any(|r| r.iter().any(|c| c == key))
    }
}

/// Per first column: how many rows, and each one's column count (sorted).
fn row_shapes(table: &Table) -> BTreeMap<&str, Vec<usize>> {
    let mut shapes: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for row in &table.rows {
        let key = row.first().map_or("", String::as_str);
        shapes.entry(key).or_default().push(row.len());
    }
    for counts in shapes.values_mut() {
        counts.sort_unstable();
    }
    shapes
}

fn sorted(labels: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = labels.iter().map(String::as_str).collect();
    v.sort_unstable();
    v
}

/// Compares Apache's output of a command with ours (see the module docs); `must` are columns
/// of some row or labels that both have to contain (the topic, the group, the broker).
/// Returns every difference found, one per line.
pub fn compare_layouts(apache: &str, ours: &str, must: &[&str]) -> Result<(), String> {
    let (a, o) = (Layout::parse(apache), Layout::parse(ours));
    let mut diffs = String::new();
    let headers = |l: &Layout| {
        l.tables
            .iter()
            .map(|t| t.header.clone())
            .collect::<Vec<_>>()
    };
    if headers(&a) != headers(&o) {
        let _ = writeln!(
            diffs,
            "header lines differ:\n  apache: {:?}\n  ours:   {:?}",
            headers(&a),
            headers(&o)
        );
    } else {
        for (ta, to) in a.tables.iter().zip(&o.tables) {
            let (sa, so) = (row_shapes(ta), row_shapes(to));
            if sa != so {
                let _ = writeln!(
                    diffs,
                    "rows under {:?} differ (first column: column counts):\n  apache: {sa:?}\n  ours:   {so:?}",
                    ta.header
                );
            }
        }
    }
    if sorted(&a.labels) != sorted(&o.labels) {
        let only = |x: &[String], y: &[String]| {
            let ys = sorted(y);
            sorted(x)
                .into_iter()
                .filter(|l| !ys.contains(l))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let _ = writeln!(
            diffs,
            "text lines differ:\n  only apache: {:?}\n  only ours:   {:?}",
            only(&a.labels, &o.labels),
            only(&o.labels, &a.labels)
        );
    }
    for key in must {
        for (who, layout) in [("apache", &a), ("ours", &o)] {
            if !layout.has(key) {
                let _ = writeln!(diffs, "{who} has no row or line {key:?}");
            }
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_split_on_two_blanks_or_a_tab() {
        assert_eq!(
            columns("AdminTopic    apache-broker-a   0     2026-12-06 19:10:04"),
            ["AdminTopic", "apache-broker-a", "0", "2026-12-06 19:10:04"]
        );
        assert_eq!(
            columns("#MasterAddr\t127.0.0.1:1"),
            ["#MasterAddr", "127.0.0.1:1"]
        );
        assert!(columns("   ").is_empty());
    }

    #[test]
    fn labels_end_at_an_equals_sign_or_a_colon_and_blank() {
        assert_eq!(label("Topic Put TPS: 0.0"), "Topic Put TPS");
        assert_eq!(label("brokerName      =  broker-a"), "brokerName");
        assert_eq!(
            label("127.0.0.1:10911          putTps          : 0.0"),
            "127.0.0.1:10911 putTps"
        );
        assert_eq!(label("Total : 252.0 GiB, Free : 1 GiB"), "Total");
        assert_eq!(label("TopicA"), "TopicA");
    }

    #[test]
    fn layout_reads_headers_rows_and_labels() {
        let out = "#Broker Name   #QID  #Last Updated\nb  0  2026-01-01 00:00:00,000\nb  1  \n\nTopic Put TPS: 0.5\n";
        let l = Layout::parse(out);
        assert_eq!(l.tables.len(), 1);
        assert_eq!(l.tables[0].header, "#Broker Name   #QID  #Last Updated");
        assert_eq!(l.tables[0].rows[1], ["b", "1"]);
        assert_eq!(l.labels, ["Topic Put TPS"]);
        assert!(l.has("b") && l.has("0") && l.has("Topic Put TPS") && !l.has("c"));
    }

    #[test]
    fn values_may_differ_but_not_headers_rows_or_labels() {
        let a = "#T    #TPS\nt1    0.5\nt2    1.0\n\nTotal: 3\n";
        let same = "#T    #TPS\nt2    7.0\nt1    0.0\n\nTotal: 9\n";
        compare_layouts(a, same, &["t1", "Total"]).expect("same layout");
        let narrower = "#T  #TPS\nt1    0.5\nt2    1.0\n\nTotal: 3\n";
        assert!(compare_layouts(a, narrower, &[]).is_err());
        let missing_row = "#T    #TPS\nt1    0.5\n\nTotal: 3\n";
        assert!(compare_layouts(a, missing_row, &[]).is_err());
        let short_row = "#T    #TPS\nt1\nt2    1.0\n\nTotal: 3\n";
        assert!(compare_layouts(a, short_row, &[]).is_err());
        let other_label = "#T    #TPS\nt1    0.5\nt2    1.0\n\nSum: 3\n";
        assert!(compare_layouts(a, other_label, &[]).is_err());
        assert!(compare_layouts(a, a, &["t3"]).is_err());
    }
}
