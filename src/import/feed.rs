//! Mapped records into DuckDB a vector at a time, through a table function
//! (`relkpi_records(id)`), instead of the Appender.
//!
//! The Appender binds every value on its own (about 160 ns a value: 3.4 s for
//! the million changes of the benchmark); the table function fills each
//! column's vector straight from the records. A load registers the records
//! under a fresh id and runs `insert into <stage> select * from
//! relkpi_records(<id>)`; the function takes them out of the registry when the
//! statement binds, so nothing outlives the statement, and frees them a
//! vector at a time as it writes them. A stream (`stream`) is the same
//! function reading batches from a channel until its sender hangs up, on two
//! DuckDB threads.

use std::collections::HashMap;
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use duckdb::{Connection, ffi};

use super::{Cell, ColType, Column, Record};

const FUNCTION: &str = "relkpi_records";

/// Records waiting for their statement, by id.
static PENDING: Mutex<Option<HashMap<u64, Arc<Feed>>>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The records of one statement, not yet read. Each vector's records are
/// freed once written, so a file's records shrink as DuckDB takes them.
struct Feed {
    records: Mutex<Source>,
    /// The records' columns, in order; `_line` follows.
    columns: Vec<Column>,
    /// DuckDB threads that may read it at once (`stream`: 2).
    threads: u64,
}

/// Where a feed's records come from: held whole, or handed over a batch at a
/// time by a thread still mapping the file (`stream`), until it hangs up.
struct Source {
    held: std::vec::IntoIter<Record>,
    more: Option<Receiver<Vec<Record>>>,
}

impl Source {
    /// Up to `n` records, fewer only at the end.
    fn take(&mut self, n: usize) -> Vec<Record> {
        let mut rows: Vec<Record> = self.held.by_ref().take(n).collect();
        while rows.len() < n {
            let Some(rx) = &self.more else { break };
            match rx.recv() {
                Ok(batch) => {
                    self.held = batch.into_iter();
                    rows.extend(self.held.by_ref().take(n - rows.len()));
                }
                Err(_) => self.more = None,
            }
        }
        rows
    }
}

struct RecordsFunction;

impl VTab for RecordsFunction {
    type InitData = ();
    type BindData = Arc<Feed>;

    fn bind(bind: &BindInfo) -> Result<Self::BindData, Box<dyn Error>> {
        let id = bind.get_parameter(0).to_uint64();
        let feed = PENDING
            .lock()
            .map_err(|_| "relkpi_records: registry poisoned")?
            .as_mut()
            .and_then(|m| m.remove(&id))
            .ok_or_else(|| format!("relkpi_records: no records registered as {id}"))?;
        for Column { name, ty } in &feed.columns {
            let id = match ty {
                ColType::Text => LogicalTypeId::Varchar,
                ColType::Timestamp => LogicalTypeId::Timestamp,
                ColType::Int => LogicalTypeId::Integer,
                ColType::Bool => LogicalTypeId::Boolean,
            };
            bind.add_result_column(name, LogicalTypeHandle::from(id));
        }
        bind.add_result_column("_line", LogicalTypeHandle::from(LogicalTypeId::Bigint));
        Ok(feed)
    }

    fn init(info: &InitInfo) -> Result<Self::InitData, Box<dyn Error>> {
        // SAFETY: the bind data is this function's `BindData`, set by `bind`.
        let feed = unsafe { &*info.get_bind_data::<Arc<Feed>>() };
        info.set_max_threads(feed.threads);
        Ok(())
    }

    fn func(info: &TableFunctionInfo<Self>, output: &mut DataChunkHandle) -> Result<(), Box<dyn Error>> {
        let feed = info.get_bind_data();
        let capacity = output.flat_vector(0).capacity();
        let rows: Vec<Record> = feed
            .records
            .lock()
            .map_err(|_| "relkpi_records: records poisoned")?
            .take(capacity);
        for (c, Column { name, ty }) in feed.columns.iter().enumerate() {
            let mut v = output.flat_vector(c);
            // SAFETY: column `c` exists (declared in `bind`), so the chunk's
            // vector is valid for this call.
            let raw = unsafe { ffi::duckdb_data_chunk_get_vector(output.get_ptr(), c as u64) };
            for (i, r) in rows.iter().enumerate() {
                match (&r.values[c], ty) {
                    (Cell::Null, _) => v.set_null(i),
                    // SAFETY: a VARCHAR vector (declared in `bind`), `i` below its capacity.
                    (Cell::Text(s), ColType::Text) => unsafe { put_text(raw, i, s) },
                    // SAFETY (all three): the vector's type was declared in
                    // `bind` from `ty` (INTEGER: i32, BOOLEAN: bool, TIMESTAMP:
                    // i64 microseconds), `i` is below its capacity, and the
                    // slice lives only for this write.
                    (Cell::Int(n), ColType::Int) => unsafe { v.as_mut_slice::<i32>()[i] = *n },
                    (Cell::Boolean(b), ColType::Bool) => unsafe { v.as_mut_slice::<bool>()[i] = *b },
                    (Cell::Timestamp(t), ColType::Timestamp) => unsafe { v.as_mut_slice::<i64>()[i] = *t },
                    (other, _) => {
                        return Err(format!("relkpi_records: {other:?} in {name}, a {ty:?} column").into());
                    }
                }
            }
        }
        let mut line = output.flat_vector(feed.columns.len());
        for (i, r) in rows.iter().enumerate() {
            // SAFETY: `_line` is BIGINT (i64), declared in `bind`; `i` < capacity.
            unsafe { line.as_mut_slice::<i64>()[i] = r.line as i64 };
        }
        output.set_len(rows.len());
        Ok(())
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

/// Write `s` as row `i` of the VARCHAR vector `raw`. `Inserter::insert` goes
/// through `duckdb_vector_assign_string_element_len`, which checks the bytes
/// are UTF-8 (they are: a `str`) and copies them to the vector's heap. A string
/// of up to 12 bytes is written in place, as DuckDB stores it (its length,
/// then its bytes, the rest zero: comparisons read all 16 bytes); a longer one
/// goes through the same copy without the check. At 1M changes the check and
/// the copies' calls were about 4% of the import's CPU, on the thread the
/// import waits on (the insert's).
///
/// # Safety
/// `raw` is a valid VARCHAR vector and `i` is below its capacity.
unsafe fn put_text(raw: ffi::duckdb_vector, i: usize, s: &str) {
    let b = s.as_bytes();
    if b.len() <= 12 {
        let mut cell = [0u8; 16];
        cell[..4].copy_from_slice(&(b.len() as u32).to_ne_bytes());
        cell[4..4 + b.len()].copy_from_slice(b);
        // SAFETY: a VARCHAR vector's data is an array of 16-byte string_t,
        // `i` within it (the caller's promise).
        unsafe {
            (ffi::duckdb_vector_get_data(raw) as *mut [u8; 16])
                .add(i)
                .write_unaligned(cell)
        };
    } else {
        // SAFETY: the caller's promise; `b` is valid UTF-8 and lives for the call.
        unsafe {
            ffi::duckdb_unsafe_vector_assign_string_element_len(raw, i as u64, b.as_ptr().cast(), b.len() as u64)
        };
    }
}

/// Insert `records` into `target` (its columns: `columns`, then `_line`).
pub fn insert(conn: &Connection, target: &str, columns: &[Column], records: Vec<Record>) -> Result<()> {
    insert_select(conn, target, "*", columns, records)
}

/// `insert into {target} select {select} from relkpi_records(..)`, where the
/// function's columns are `columns` (named as they are), then `_line`.
pub fn insert_select(
    conn: &Connection,
    target: &str,
    select: &str,
    columns: &[Column],
    records: Vec<Record>,
) -> Result<()> {
    let source = Source {
        held: records.into_iter(),
        more: None,
    };
    run(conn, target, select, columns, source)
}

/// `insert_select` of records handed over a batch at a time on `batches`
/// until its sender hangs up, read by two DuckDB threads at once. DuckDB
/// inserts them in parallel only when it need not keep their order: the
/// statement runs with `preserve_insertion_order` off, and the rows reach the
/// table in no set order (each thread fills row groups of its own, from the
/// batches' vectors as it takes them).
pub fn stream(
    conn: &Connection,
    target: &str,
    select: &str,
    columns: &[Column],
    batches: Receiver<Vec<Record>>,
) -> Result<()> {
    let source = Source {
        held: Vec::new().into_iter(),
        more: Some(batches),
    };
    super::load::unordered(conn, || run(conn, target, select, columns, source))
}

fn run(conn: &Connection, target: &str, select: &str, columns: &[Column], source: Source) -> Result<()> {
    let registered: bool = conn.query_row(
        "select count(*) > 0 from duckdb_functions() where function_name = ?",
        [FUNCTION],
        |r| r.get(0),
    )?;
    if !registered {
        conn.register_table_function::<RecordsFunction>(FUNCTION)
            .context("registering relkpi_records")?;
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let feed = Arc::new(Feed {
        // A stream is read by two threads; records held whole by one, in order.
        threads: if source.more.is_some() { 2 } else { 1 },
        records: Mutex::new(source),
        columns: columns.to_vec(),
    });
    {
        let mut pending = PENDING
            .lock()
            .map_err(|_| anyhow::anyhow!("relkpi_records: registry poisoned"))?;
        pending.get_or_insert_with(HashMap::new).insert(id, Arc::clone(&feed));
    }
    let res = conn.execute_batch(&format!(
        "insert into {target} select {select} from {FUNCTION}({id}::ubigint)"
    ));
    // Unclaimed when the statement failed before binding.
    if let Ok(mut pending) = PENDING.lock()
        && let Some(m) = pending.as_mut()
    {
        m.remove(&id);
    }
    // Whenever DuckDB drops its copy, the records go now, and a stream's
    // sender learns at once that nothing takes its batches any more (a
    // statement that failed stops reading them).
    if let Ok(mut source) = feed.records.lock() {
        *source = Source {
            held: Vec::new().into_iter(),
            more: None,
        };
    }
    res.with_context(|| format!("inserting records into {target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings around DuckDB's 12-byte inline limit, ASCII and not, read back
    /// as written, equal to the same constants, grouped and ordered as
    /// DuckDB's own strings are (an inlined string's padding must be zero:
    /// comparisons read all 16 bytes), and NULLs beside them.
    #[test]
    fn strings_in_place_and_on_the_heap_read_back_and_compare() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("create table t (s varchar, _line bigint)").unwrap();
        let values: Vec<Option<&str>> = vec![
            Some(""),
            Some("a"),
            Some("elevenbytes"),
            Some("twelve bytes"),
            Some("thirteen byte"),
            Some("ünïcödé"),
            Some("ünïcödé1"),
            Some("ünïcödé12"),
            None,
            Some("a much longer value, well past the inline limit"),
            Some("elevenbytes"),
        ];
        let records: Vec<Record> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Record {
                line: i as u64 + 2,
                values: vec![v.map_or(Cell::Null, |s| Cell::Text(s.into()))],
                cis: Vec::new(),
                version: Vec::new(),
                release: false,
            })
            .collect();
        let columns = [Column {
            name: "s".to_owned(),
            ty: ColType::Text,
        }];
        insert(&conn, "t", &columns, records).unwrap();
        let mut stmt = conn.prepare("select s from t order by _line").unwrap();
        let back: Vec<Option<String>> = stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(back, values.iter().map(|v| v.map(str::to_owned)).collect::<Vec<_>>());
        for v in values.iter().flatten() {
            let n: i64 = conn
                .query_row("select count(*) from t where s = ?", [v], |r| r.get(0))
                .unwrap();
            assert_eq!(n, if *v == "elevenbytes" { 2 } else { 1 }, "{v:?}");
            let own: i64 = conn
                .query_row(
                    "select count(*) from t where s = (select any_value(x) from (select ?::varchar as x))",
                    [v],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(own, n, "{v:?}");
        }
        let (groups, first, last): (i64, String, String) = conn
            .query_row("select count(distinct s), min(s), max(s) from t", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((groups, first.as_str(), last.as_str()), (9, "", "ünïcödé12"));
        let lengths: i64 = conn
            .query_row("select sum(strlen(s)) from t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(lengths, values.iter().flatten().map(|s| s.len() as i64).sum::<i64>());
    }
}
