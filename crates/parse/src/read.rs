//! Reading an export into rows of strings: gzip, encoding (UTF-8 with or without
//! BOM, else Windows-1252), CSV with a sniffed delimiter, JSON record arrays, and
//! XLSX sheets. Each row keeps the line (CSV/XLSX) or record number (JSON) it
//! came from, so every error can name it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Decompressed input larger than this is refused (a gzip bomb or a mistake).
pub const MAX_INPUT_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// Largest decompressed-to-compressed ratio accepted above 256 MiB.
const MAX_GZIP_RATIO: u64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Json,
    Xlsx,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
            FileFormat::Xlsx => "xlsx",
        }
    }
}

#[derive(Debug)]
pub struct RawRow {
    /// 1-based line of the record's start (CSV, XLSX) or record number (JSON).
    pub line: u64,
    /// One allocation a row (a `csv::StringRecord`), whatever the format.
    pub fields: csv::StringRecord,
    /// Why the row cannot be loaded as read (bytes that are not text), if so:
    /// (header of the field, reason). The row is rejected with it.
    pub problem: Option<(String, String)>,
}

#[derive(Debug)]
pub struct RawTable {
    pub format: FileFormat,
    pub headers: Vec<String>,
    pub rows: Vec<RawRow>,
    /// Rows holding nothing but delimiters (skipped, counted).
    pub blank_rows: u64,
    pub encoding: &'static str,
}

/// The file's bytes, gunzipped when compressed: real exports compress 5 to 20
/// times, so a gzip file is refused past 50 times its size (at least 256 MiB,
/// at most 8 GiB) before a bomb exhausts memory. A text export whose first MiB
/// holds no line break is refused before it is read whole.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let mut stream = open_stream(path)?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).map_err(|e| stream.error(e))?;
    if stream.gz {
        one_line_check(path, &out[..out.len().min(LINE_LIMIT)], out.len() as u64)?;
    }
    Ok(out)
}

/// Longest first line accepted in a CSV export.
const LINE_LIMIT: usize = 1 << 20;

fn one_line_check(path: &Path, head: &[u8], total: u64) -> Result<()> {
    let binary_or_json = head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(b"PK\x03\x04")
        || head
            .iter()
            .find(|b| !(b.is_ascii_whitespace() || **b == 0xEF || **b == 0xBB || **b == 0xBF))
            .is_some_and(|b| *b == b'{' || *b == b'[');
    if !binary_or_json && total > LINE_LIMIT as u64 && !head.contains(&b'\n') && !head.contains(&b'\r') {
        bail!(
            "{}: no line break in the first {} MiB of {} bytes; a CSV export has a header line, \
             this looks like something else",
            path.display(),
            LINE_LIMIT >> 20,
            total
        );
    }
    Ok(())
}

/// An export file, opened by `scan`: its format and, for CSV, what one pass
/// over its bytes found (encoding, quotes, NUL bytes, the header line). Its
/// rows are read by `open`, which streams a CSV file from disk (memory stays
/// flat in the file's size) and may be called again to read it once more.
pub struct Export {
    path: PathBuf,
    pub format: FileFormat,
    /// Bytes after decompression.
    pub len: u64,
    facts: CsvFacts,
}

/// Read `path` once, handing every (decompressed) byte to `on_bytes` (the
/// import hashes them), and tell its format. A CSV file's facts for `open` are
/// gathered on the way, in constant memory. `on_bytes` runs on a thread of its
/// own, a chunk behind the reading (three buffers of 1 MiB go round between
/// the two): hashing was most of the pass, which at 10M changes went from 2.7
/// to 2.1 s for the changes file and from 1.4 to 1.1 s for the incidents.
pub fn scan(path: &Path, on_bytes: &mut (dyn FnMut(&[u8]) + Send)) -> Result<Export> {
    use std::sync::mpsc::sync_channel;
    const BUFFERS: usize = 3;
    let mut stream = open_stream(path)?;
    let mut facts = CsvFacts::default();
    std::thread::scope(|s| -> Result<()> {
        let (full_tx, full_rx) = sync_channel::<(Vec<u8>, usize)>(BUFFERS);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(BUFFERS);
        for _ in 0..BUFFERS {
            empty_tx
                .send(vec![0u8; 1 << 20])
                .expect("the channel holds every buffer");
        }
        let consumer = s.spawn(move || {
            for (buf, n) in full_rx {
                on_bytes(&buf[..n]);
                // The reader has stopped when this fails: nothing to return to.
                let _ = empty_tx.send(buf);
            }
        });
        let read = (|| -> Result<()> {
            loop {
                let Ok(mut buf) = empty_rx.recv() else {
                    bail!("{}: the thread hashing the file stopped", path.display());
                };
                // Whole chunks (a gzip stream may hand out less): the first holds the BOM.
                let mut n = 0;
                while n < buf.len() {
                    match stream.read(&mut buf[n..]).map_err(|e| stream.error(e))? {
                        0 => break,
                        k => n += k,
                    }
                }
                if n == 0 {
                    return Ok(());
                }
                facts.feed(&buf[..n]);
                if full_tx.send((buf, n)).is_err() {
                    bail!("{}: the thread hashing the file stopped", path.display());
                }
            }
        })();
        drop(full_tx);
        if consumer.join().is_err() {
            bail!("{}: the thread hashing the file panicked", path.display());
        }
        read
    })?;
    facts.finish();
    if stream.gz {
        one_line_check(path, &facts.head, facts.len)?;
    }
    Ok(Export {
        path: path.to_path_buf(),
        format: detect_format(path, &facts.head),
        len: facts.len,
        facts,
    })
}

impl Export {
    /// The table's rows, from the start of the file.
    pub fn open(&self) -> Result<TableReader> {
        match self.format {
            FileFormat::Csv => {
                let mut stream = open_stream(&self.path)?;
                if self.facts.bom {
                    let mut bom = [0u8; 3];
                    stream.read_exact(&mut bom)?;
                }
                open_csv(&self.path, Box::new(stream), &self.facts)
            }
            FileFormat::Json => {
                let path = self.path.clone();
                open_json(&self.path, move || Ok(Box::new(open_stream(&path)?)), &self.facts)
            }
            FileFormat::Xlsx => open_table(&self.path, read_bytes(&self.path)?, FileFormat::Xlsx),
        }
    }
}

/// The file's bytes as a stream, gunzipped when compressed (refusing a gzip
/// bomb, see `read_bytes`), after the checks `read_bytes` makes.
struct Stream {
    inner: Box<dyn Read + Send>,
    path: PathBuf,
    gz: bool,
    /// Decompressed bytes allowed (gzip), and read so far.
    limit: u64,
    read: u64,
    compressed: u64,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| {
            if self.gz {
                std::io::Error::other(format!(
                    "{}: not a valid gzip file (truncated or corrupt): {e}",
                    self.path.display()
                ))
            } else {
                e
            }
        })?;
        self.read += n as u64;
        if self.gz && self.read > self.limit {
            return Err(std::io::Error::other(format!(
                "{}: {} bytes of gzip decompress to more than {} MiB ({}x); refusing (gzip bomb?). \
                 Decompress it yourself if it is genuine.",
                self.path.display(),
                self.compressed,
                self.limit >> 20,
                self.limit / self.compressed.max(1)
            )));
        }
        Ok(n)
    }
}

impl Stream {
    /// A read error as the user reads it: the gzip errors name the file already.
    fn error(&self, e: std::io::Error) -> anyhow::Error {
        if self.gz {
            anyhow::anyhow!("{e}")
        } else {
            anyhow::Error::new(e).context(format!("cannot read {}", self.path.display()))
        }
    }
}

fn open_stream(path: &Path) -> Result<Stream> {
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        bail!("{} is a directory, not an export file", path.display());
    }
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let mut head = Vec::with_capacity(LINE_LIMIT);
    File::open(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .take(LINE_LIMIT as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    one_line_check(path, &head, meta.len())?;
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let gz = head.starts_with(&[0x1f, 0x8b]);
    let limit = (meta.len() * MAX_GZIP_RATIO).clamp(256 << 20, MAX_INPUT_BYTES);
    let inner: Box<dyn Read + Send> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(
            1 << 16,
            file,
        )))
    } else {
        Box::new(file)
    };
    Ok(Stream {
        inner,
        path: path.to_path_buf(),
        gz,
        limit,
        read: 0,
        compressed: meta.len(),
    })
}

/// What a pass over a CSV export's bytes tells before its rows are parsed:
/// the encoding (as `decode` decides it for the whole text), the quotes, the
/// NUL bytes and the first MiB (the header line, the delimiter).
#[derive(Debug, Default)]
struct CsvFacts {
    len: u64,
    head: Vec<u8>,
    bom: bool,
    nuls: u64,
    /// Valid multi-byte UTF-8 characters, and invalid UTF-8 sequences.
    multibyte: u64,
    invalid: u64,
    quotes: u64,
    newlines: u64,
    last_quote_line: u64,
    /// An unfinished UTF-8 sequence at the end of the last chunk.
    carry: Vec<u8>,
}

impl CsvFacts {
    fn of(bytes: &[u8]) -> CsvFacts {
        let mut f = CsvFacts::default();
        f.feed(bytes);
        f.finish();
        f
    }

    fn feed(&mut self, chunk: &[u8]) {
        let start = self.len;
        self.len += chunk.len() as u64;
        if self.head.len() < LINE_LIMIT {
            let take = (LINE_LIMIT - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        // The UTF-8 BOM is no part of the text (`scan` hands the first MiB whole).
        let mut text = chunk;
        if start == 0 {
            self.bom = chunk.starts_with(b"\xEF\xBB\xBF");
            if self.bom {
                text = &chunk[3..];
            }
        }
        // A pass per byte counted, each one vectorised (`count_where`); the
        // line breaks in two parts when the chunk has a quote, the last one's
        // line found from the first part.
        let quotes = count_byte(text, b'"');
        let last_quote = if quotes > 0 {
            text.iter().rposition(|&b| b == b'"')
        } else {
            None
        };
        let newlines = match last_quote {
            Some(last) => {
                let before = count_byte(&text[..last], b'\n');
                self.last_quote_line = self.newlines + before + 1;
                before + count_byte(&text[last..], b'\n')
            }
            None => count_byte(text, b'\n'),
        };
        self.quotes += quotes;
        self.nuls += count_byte(text, 0);
        self.newlines += newlines;
        let joined;
        let mut rest: &[u8] = if self.carry.is_empty() {
            text
        } else {
            let mut j = std::mem::take(&mut self.carry);
            j.extend_from_slice(text);
            joined = j;
            &joined
        };
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    self.multibyte += count_multibyte(valid.as_bytes());
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.multibyte += count_multibyte(valid);
                    match e.error_len() {
                        Some(n) => {
                            self.invalid += 1;
                            rest = &after[n..];
                        }
                        None => {
                            self.carry = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        if !self.carry.is_empty() {
            self.invalid += 1;
            self.carry.clear();
        }
    }

    /// The encoding `decode` would choose: (name, lossy UTF-8, Windows-1252).
    fn encoding(&self) -> (&'static str, bool, bool) {
        if self.invalid == 0 {
            ("utf-8", false, false)
        } else if self.multibyte > 0 && self.multibyte >= self.invalid {
            ("utf-8 with invalid bytes", true, false)
        } else {
            ("windows-1252", false, true)
        }
    }
}

/// How many times `byte` occurs in `bytes`.
fn count_byte(bytes: &[u8], byte: u8) -> u64 {
    count_where(bytes, |b| b == byte)
}

/// How many bytes of `bytes` match `pred`, in blocks of 64 summed in bytes,
/// which the compiler turns into vector compares and adds (a plain
/// `filter().count()` ran at a quarter of the speed).
#[inline(always)]
fn count_where(bytes: &[u8], pred: impl Fn(u8) -> bool) -> u64 {
    let mut blocks = bytes.chunks_exact(64);
    let mut n: u64 = 0;
    for block in &mut blocks {
        n += u64::from(block.iter().map(|b| u8::from(pred(*b))).sum::<u8>());
    }
    n + blocks.remainder().iter().filter(|b| pred(**b)).count() as u64
}

/// Valid UTF-8 text's characters of more than one byte (their lead bytes).
fn count_multibyte(valid: &[u8]) -> u64 {
    count_where(valid, |b| b >= 0xC0)
}

/// Windows-1252 bytes as UTF-8, a byte at a time (every byte is a character).
struct Cp1252<R> {
    inner: R,
    raw: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
}

impl<R: Read> Read for Cp1252<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.out.len() {
            self.out.clear();
            self.pos = 0;
            let n = self.inner.read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            let table = cp1252_table();
            let mut utf8 = [0u8; 4];
            for b in &self.raw[..n] {
                self.out
                    .extend_from_slice(table[*b as usize].encode_utf8(&mut utf8).as_bytes());
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn cp1252_table() -> &'static [char; 256] {
    static TABLE: std::sync::OnceLock<[char; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = ['\u{FFFD}'; 256];
        for (b, c) in t.iter_mut().enumerate() {
            let byte = [b as u8];
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
            *c = text.chars().next().unwrap_or('\u{FFFD}');
        }
        t
    })
}

/// The format from the name (ignoring `.gz`), else from the content.
pub fn detect_format(path: &Path, bytes: &[u8]) -> FileFormat {
    let name = path.to_string_lossy().to_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".xlsx") || name.ends_with(".xlsm") {
        return FileFormat::Xlsx;
    }
    if name.ends_with(".json") {
        return FileFormat::Json;
    }
    if name.ends_with(".csv") || name.ends_with(".tsv") || name.ends_with(".txt") {
        return FileFormat::Csv;
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return FileFormat::Xlsx;
    }
    let start = bytes
        .iter()
        .find(|b| !(b.is_ascii_whitespace() || **b == 0xEF || **b == 0xBB || **b == 0xBF));
    match start {
        Some(b'{') | Some(b'[') => FileFormat::Json,
        _ => FileFormat::Csv,
    }
}

pub fn read_table(path: &Path, bytes: Vec<u8>, format: FileFormat) -> Result<RawTable> {
    let mut reader = open_table(path, bytes, format)?;
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row()? {
        rows.push(row);
    }
    Ok(RawTable {
        format: reader.format,
        headers: reader.headers,
        blank_rows: reader.blank_rows,
        encoding: reader.encoding,
        rows,
    })
}

/// A table read a row at a time: a CSV file's rows are parsed as they are
/// taken, a JSON file's or an XLSX sheet's on a thread a few rows ahead, so a
/// large file's rows are never all in memory at once.
pub struct TableReader {
    pub format: FileFormat,
    pub headers: Vec<String>,
    pub encoding: &'static str,
    /// Rows holding nothing but delimiters, among those read so far.
    pub blank_rows: u64,
    rows: RowSource,
    /// A row read ahead by `peek`.
    peeked: Option<RawRow>,
}

enum RowSource {
    Csv {
        records: csv::ByteRecordsIntoIter<Box<dyn Read + Send>>,
        path: std::path::PathBuf,
        /// The text had invalid UTF-8 (rows holding U+FFFD are rejected).
        lossy: bool,
        /// The text holds NUL bytes (rows holding one are rejected).
        nuls: bool,
        /// The CSV reader's line count after the last record read (`line_of`).
        after: u64,
    },
    /// Rows parsed on another thread as they are taken (JSON).
    Streamed(std::sync::mpsc::Receiver<Result<RawRow, String>>),
    /// An XLSX sheet's rows, read on another thread as they are taken.
    Sheet(std::sync::mpsc::Receiver<Result<SheetRow, String>>),
}

impl TableReader {
    /// The next row that is not blank, or None at the end. A malformed CSV row
    /// is an error naming its line.
    pub fn next_row(&mut self) -> Result<Option<RawRow>> {
        if let Some(r) = self.peeked.take() {
            return Ok(Some(r));
        }
        match &mut self.rows {
            // A closed channel is the end: the parser sends its error first.
            RowSource::Streamed(rows) => rows.recv().ok().transpose().map_err(|e| anyhow::anyhow!(e)),
            RowSource::Sheet(rows) => loop {
                match rows.recv() {
                    Err(_) => return Ok(None),
                    Ok(Err(e)) => bail!(e),
                    Ok(Ok(SheetRow::Blank)) => self.blank_rows += 1,
                    Ok(Ok(SheetRow::Row(r))) => return Ok(Some(r)),
                }
            },
            RowSource::Csv {
                records,
                path,
                lossy,
                nuls,
                after,
            } => {
                while let Some(rec) = records.next() {
                    let mut rec = rec.map_err(|e| {
                        let line = e.position().map(|p| p.line()).unwrap_or(0);
                        anyhow::anyhow!("{}: line {line}: malformed CSV: {e}", path.display())
                    })?;
                    let now = records.reader().position().line();
                    let line = line_of(&rec, *after, now);
                    *after = now;
                    let mut pos = csv::Position::new();
                    pos.set_line(line);
                    rec.set_position(Some(pos));
                    let rec = text_record(rec);
                    if rec.iter().all(|f| f.trim().is_empty()) {
                        self.blank_rows += 1;
                        continue;
                    }
                    return Ok(Some(csv_row(rec, &self.headers, *lossy, *nuls)));
                }
                Ok(None)
            }
        }
    }

    /// The next row without taking it.
    pub fn peek(&mut self) -> Result<Option<&RawRow>> {
        if self.peeked.is_none() {
            self.peeked = self.next_row()?;
        }
        Ok(self.peeked.as_ref())
    }

    /// Up to `n` more rows (fewer only at the end).
    pub fn next_rows(&mut self, n: usize) -> Result<Vec<RawRow>> {
        let mut out = Vec::with_capacity(n.min(1 << 16));
        while out.len() < n {
            match self.next_row()? {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(out)
    }
}

/// Open a table for reading row by row (see `TableReader`).
pub fn open_table(path: &Path, bytes: Vec<u8>, format: FileFormat) -> Result<TableReader> {
    match format {
        FileFormat::Csv => {
            let facts = CsvFacts::of(&bytes);
            let skip = if facts.bom { 3 } else { 0 };
            let mut text = std::io::Cursor::new(bytes);
            text.set_position(skip);
            open_csv(path, Box::new(text), &facts)
        }
        FileFormat::Json => {
            let facts = CsvFacts::of(&bytes);
            let bytes: std::sync::Arc<[u8]> = bytes.into();
            open_json(path, move || Ok(Box::new(std::io::Cursor::new(bytes.clone()))), &facts)
        }
        FileFormat::Xlsx => open_xlsx(path, bytes),
    }
}

/// Text from bytes: UTF-8 (BOM or not); UTF-8 with a few invalid bytes (then
/// `true`: the rows holding them are rejected, the others load intact); else
/// Windows-1252. The readers decode as they stream (`CsvFacts::encoding`,
/// `Cp1252`); this whole-text decoding is the tests' oracle for them.
#[cfg(test)]
fn decode(bytes: Vec<u8>) -> (String, &'static str, bool) {
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    match String::from_utf8(bytes) {
        Ok(s) => (s, "utf-8", false),
        Err(e) => {
            let bytes = e.into_bytes();
            // Evidence for UTF-8: valid multi-byte characters; against it: invalid bytes.
            let (mut multibyte, mut invalid) = (0usize, 0usize);
            for chunk in bytes.utf8_chunks() {
                multibyte += chunk.valid().chars().filter(|c| c.len_utf8() > 1).count();
                invalid += usize::from(!chunk.invalid().is_empty());
            }
            if multibyte > 0 && multibyte >= invalid {
                return (
                    String::from_utf8_lossy(&bytes).into_owned(),
                    "utf-8 with invalid bytes",
                    true,
                );
            }
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
            (text.into_owned(), "windows-1252", false)
        }
    }
}

/// The delimiter that splits the header line into the most fields (quotes respected).
fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t', b'|'] {
        let mut in_quotes = false;
        let mut n = 0;
        for c in first.bytes() {
            if c == b'"' {
                in_quotes = !in_quotes;
            } else if c == d && !in_quotes {
                n += 1;
            }
        }
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

/// A CSV file's rows from `text` (its bytes after the BOM), as `facts` describe it.
fn open_csv(path: &Path, text: Box<dyn Read + Send>, facts: &CsvFacts) -> Result<TableReader> {
    // Many NUL bytes: UTF-16 or binary. A few: rows to reject, below.
    let nuls = facts.nuls;
    if nuls > 0
        && (nuls * 10 > facts.len || facts.head.starts_with(&[0xFF, 0xFE]) || facts.head.starts_with(&[0xFE, 0xFF]))
    {
        bail!(
            "{}: contains NUL bytes; this is not a text export (binary file, or UTF-16: save it as UTF-8 CSV)",
            path.display()
        );
    }
    let (encoding, lossy, cp1252) = facts.encoding();
    // An odd number of quotes: the file ends inside a quoted field (cut short).
    if facts.quotes % 2 == 1 {
        bail!(
            "{}: line {}: a quoted field is never closed: the file is truncated or malformed",
            path.display(),
            facts.last_quote_line
        );
    }
    let head = facts.head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&facts.head);
    let head_text = if cp1252 {
        head.iter().map(|b| cp1252_table()[*b as usize]).collect::<String>()
    } else {
        String::from_utf8_lossy(head).into_owned()
    };
    let delim = sniff_delimiter(&head_text);
    let text: Box<dyn Read + Send> = if cp1252 {
        Box::new(Cp1252 {
            inner: text,
            raw: vec![0; 1 << 16],
            out: Vec::with_capacity(3 << 16),
            pos: 0,
        })
    } else {
        text
    };
    let text: Box<dyn Read + Send> = Box::new(LfLines::new(text));
    let mut records = csv::ReaderBuilder::new()
        .delimiter(delim)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(text)
        .into_byte_records();
    let headers: Vec<String> = match records.next() {
        Some(h) => text_record(h.with_context(|| format!("{}: line 1: cannot read the header", path.display()))?)
            .iter()
            .map(|s| s.trim().to_owned())
            .collect(),
        None => bail!("{}: the file is empty (no header line)", path.display()),
    };
    Ok(TableReader {
        format: FileFormat::Csv,
        headers,
        encoding,
        blank_rows: 0,
        rows: RowSource::Csv {
            after: records.reader().position().line(),
            records,
            path: path.to_path_buf(),
            lossy,
            nuls: nuls > 0,
        },
        peeked: None,
    })
}

/// The line a record starts on, as an editor numbers it. The CSV reader
/// counts `\n` bytes, but takes a record's position before it skips the line
/// end of the record before it (a CRLF file's `\n`) and any blank lines: so
/// the line is found from where the record ends instead (`now`, the count
/// after it, with every line ended by `\n` alone: `LfLines`), less its own
/// line breaks. `after`: the count after the record before; a record that
/// took one line more than it starts right there, without a look at its bytes.
fn line_of(rec: &csv::ByteRecord, after: u64, now: u64) -> u64 {
    if now == after + 1 {
        return after;
    }
    let inside = rec.as_slice().iter().filter(|b| **b == b'\n').count() as u64;
    now.saturating_sub(inside + 1).max(1)
}

/// A CSV text as the reader must see it for its line count to be an
/// editor's (`line_of`): every line end `\n` (a `\r` before a `\n` dropped,
/// CRLF files; a `\r` alone made `\n`, old Mac files; a line break inside a
/// quoted value reads as `\n` too), and an unended last line given one.
struct LfLines {
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// A `\r` that ended the last fill, dropped if a `\n` comes next.
    cr: bool,
    /// The last byte handed on (`\n` before the first: nothing to end).
    last: u8,
    eof: bool,
}

impl LfLines {
    fn new(inner: Box<dyn Read + Send>) -> Self {
        LfLines {
            inner,
            buf: vec![0; 1 << 16],
            pos: 0,
            len: 0,
            cr: false,
            last: b'\n',
            eof: false,
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        loop {
            let mut len = 0;
            if std::mem::take(&mut self.cr) {
                self.buf[0] = b'\r';
                len = 1;
            }
            let n = loop {
                match self.inner.read(&mut self.buf[len..]) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    r => break r?,
                }
            };
            if n == 0 {
                self.eof = true;
                if len == 1 {
                    // The text ends in `\r`: a line end.
                    self.buf[0] = b'\n';
                } else if self.last != b'\n' {
                    self.buf[0] = b'\n';
                    len = 1;
                }
                self.pos = 0;
                self.len = len;
                return Ok(());
            }
            len += n;
            let mut end = len;
            if self.buf[end - 1] == b'\r' {
                self.cr = true;
                end -= 1;
            }
            let mut w = end;
            if self.buf[..end].contains(&b'\r') {
                w = 0;
                for r in 0..end {
                    let b = self.buf[r];
                    if b == b'\r' && r + 1 < end && self.buf[r + 1] == b'\n' {
                        continue;
                    }
                    self.buf[w] = if b == b'\r' { b'\n' } else { b };
                    w += 1;
                }
            }
            if w > 0 {
                self.pos = 0;
                self.len = w;
                self.last = self.buf[w - 1];
                return Ok(());
            }
        }
    }
}

impl Read for LfLines {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.len {
            if self.eof {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A record's fields as text: UTF-8, with U+FFFD for bytes that are not (the
/// row is then rejected in a lossily decoded file, see `csv_row`).
fn text_record(rec: csv::ByteRecord) -> csv::StringRecord {
    let pos = rec.position().cloned();
    let mut out = csv::StringRecord::from_byte_record(rec)
        .unwrap_or_else(|e| csv::StringRecord::from_byte_record_lossy(e.into_byte_record()));
    out.set_position(pos);
    out
}

/// A CSV record as a row, with the reason it cannot load if it holds a NUL
/// byte or (in a lossily decoded file) bytes that were not UTF-8.
/// `nuls`: the file holds NUL bytes (else no field is searched for one).
fn csv_row(rec: csv::StringRecord, headers: &[String], lossy: bool, nuls: bool) -> RawRow {
    let line = rec.position().map(|p| p.line()).unwrap_or(0);
    let problem = (nuls || lossy)
        .then(|| {
            rec.iter().enumerate().find_map(|(i, f)| {
                let reason = if nuls && f.contains('\0') {
                    "a NUL byte in the field: not text"
                } else if lossy && f.contains('\u{FFFD}') {
                    "bytes that are not UTF-8 in the field (the rest of the file is UTF-8)"
                } else {
                    return None;
                };
                let header = headers.get(i).cloned().unwrap_or_else(|| format!("field {}", i + 1));
                Some((header, reason.to_owned()))
            })
        })
        .flatten();
    RawRow {
        line,
        fields: rec,
        problem,
    }
}

/// A JSON value as the text a CSV export would hold. ServiceNow reference fields
/// come as objects: `display_value` wins, else `value`.
fn json_text(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(m) => m
            .get("display_value")
            .or_else(|| m.get("value"))
            .map(json_text)
            .unwrap_or_else(|| v.to_string()),
        Value::Array(a) => a.iter().map(json_text).collect::<Vec<_>>().join(", "),
    }
}

/// The keys of a JSON object that may hold its record array, in the order
/// they are preferred when several do: ServiceNow's `result`, Jira's
/// `values`, Freshservice's API lists (`changes`, `tickets`, `releases`).
const JSON_WRAPPERS: [&str; 7] = ["records", "result", "values", "data", "changes", "tickets", "releases"];

/// Rows parsed ahead of the importer, at most (JSON, XLSX).
const ROWS_AHEAD: usize = 1024;

/// Where a JSON export's records are: the top-level array, or the array
/// under one of `JSON_WRAPPERS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonAt {
    Top,
    Key(&'static str),
}

/// What one pass over a JSON export saw at its top level.
enum JsonTop {
    Array,
    /// An object, with its keys in order.
    Object(Vec<String>),
    Other,
}

/// One pass over a JSON text, a record at a time: `on` gets each element of
/// the record arrays (numbered from 1) at `only`, or at every place records
/// may be when `only` is None; `arrays` collects the places that held an
/// array, empty or not. Memory holds one record, not the file.
struct JsonWalk<'a> {
    only: Option<JsonAt>,
    arrays: Vec<JsonAt>,
    on: &'a mut dyn FnMut(JsonAt, u64, serde_json::Value) -> Result<(), String>,
}

impl JsonWalk<'_> {
    fn wants(&self, at: JsonAt) -> bool {
        self.only.is_none_or(|o| o == at)
    }

    fn records<'de, A: serde::de::SeqAccess<'de>>(&mut self, at: JsonAt, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error;
        self.arrays.push(at);
        let mut n = 0;
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            n += 1;
            (self.on)(at, n, v).map_err(A::Error::custom)?;
        }
        Ok(())
    }
}

impl<'de> serde::de::Visitor<'de> for &mut JsonWalk<'_> {
    type Value = JsonTop;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of records or an object holding one")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonTop, A::Error> {
        if self.wants(JsonAt::Top) {
            self.records(JsonAt::Top, seq)?;
        } else {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        }
        Ok(JsonTop::Array)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonTop, A::Error> {
        let mut keys = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            // A key given twice: its first value counts.
            let at = JSON_WRAPPERS
                .iter()
                .find(|w| **w == k && !keys.contains(&k))
                .map(|w| JsonAt::Key(w));
            match at {
                Some(at) if self.wants(at) => map.next_value_seed(WrappedRecords { walk: &mut *self, at })?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            keys.push(k);
        }
        Ok(JsonTop::Object(keys))
    }

    fn visit_bool<E>(self, _: bool) -> Result<JsonTop, E> {
        Ok(JsonTop::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<JsonTop, E> {
        Ok(JsonTop::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<JsonTop, E> {
        Ok(JsonTop::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<JsonTop, E> {
        Ok(JsonTop::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<JsonTop, E> {
        Ok(JsonTop::Other)
    }
    fn visit_unit<E>(self) -> Result<JsonTop, E> {
        Ok(JsonTop::Other)
    }
}

/// The value of a wrapper key: its records when it is an array, else skipped.
struct WrappedRecords<'w, 'a> {
    walk: &'w mut JsonWalk<'a>,
    at: JsonAt,
}

impl<'de> serde::de::DeserializeSeed<'de> for WrappedRecords<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for WrappedRecords<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.walk.records(self.at, seq)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Walk the JSON text `text` once (see `JsonWalk`); the whole text must be
/// one JSON value. serde_json's recursion limit (128) turns absurdly nested
/// input into an error.
fn walk_json(path: &Path, text: Box<dyn Read + Send>, walk: &mut JsonWalk) -> Result<JsonTop> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, text));
    let top = serde::Deserializer::deserialize_any(&mut de, &mut *walk).and_then(|top| de.end().map(|()| top));
    top.map_err(|e| {
        if e.is_data() {
            // Ours (a record that is not an object; the reader gone).
            anyhow::anyhow!("{}: {e}", path.display())
        } else if e.is_io() {
            anyhow::anyhow!("cannot read {}: {e}", path.display())
        } else {
            anyhow::anyhow!(
                "{}: line {} column {}: invalid JSON: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        }
    })
}

/// A JSON export's rows, read from `open()`'s text (its bytes; a BOM skipped)
/// in two passes: the first checks the whole text and learns the headers (the
/// records' keys, in the order they first appear); the second, on its own
/// thread, hands out the records as they are parsed. Memory holds a few
/// records, whatever the file's size.
fn open_json(
    path: &Path,
    open: impl Fn() -> Result<Box<dyn Read + Send>> + Send + 'static,
    facts: &CsvFacts,
) -> Result<TableReader> {
    let (encoding, lossy, cp1252) = facts.encoding();
    if lossy {
        bail!(
            "{}: bytes that are not UTF-8 inside a UTF-8 JSON file; JSON must be UTF-8 (RFC 8259)",
            path.display()
        );
    }
    let bom = facts.bom;
    let text = move || -> Result<Box<dyn Read + Send>> {
        let mut inner = open()?;
        if bom {
            let mut b = [0u8; 3];
            inner.read_exact(&mut b)?;
        }
        Ok(if cp1252 {
            Box::new(Cp1252 {
                inner,
                raw: vec![0; 1 << 16],
                out: Vec::with_capacity(3 << 16),
                pos: 0,
            })
        } else {
            inner
        })
    };
    // Pass 1: the keys of the records at each place records may be, and the
    // first record there that is not an object.
    #[derive(Default)]
    struct Place {
        keys: Vec<String>,
        seen: std::collections::HashSet<String>,
        not_object: Option<u64>,
    }
    let mut places: Vec<(JsonAt, Place)> = Vec::new();
    let mut on = |at: JsonAt, n: u64, v: serde_json::Value| -> Result<(), String> {
        let i = match places.iter().position(|p| p.0 == at) {
            Some(i) => i,
            None => {
                places.push((at, Place::default()));
                places.len() - 1
            }
        };
        let place = &mut places[i].1;
        match v {
            serde_json::Value::Object(m) => {
                for k in m.keys() {
                    if !place.seen.contains(k) {
                        place.seen.insert(k.clone());
                        place.keys.push(k.clone());
                    }
                }
            }
            _ => {
                place.not_object.get_or_insert(n);
            }
        }
        Ok(())
    };
    let mut walk = JsonWalk {
        only: None,
        arrays: Vec::new(),
        on: &mut on,
    };
    let top = walk_json(path, text()?, &mut walk)?;
    let arrays = walk.arrays;
    let at = match top {
        JsonTop::Array => JsonAt::Top,
        JsonTop::Object(found) => match JSON_WRAPPERS
            .iter()
            .map(|w| JsonAt::Key(w))
            .find(|at| arrays.contains(at))
        {
            Some(at) => at,
            None => bail!(
                "{}: JSON object without an array of records under {} (found keys: {})",
                path.display(),
                JSON_WRAPPERS.join(", "),
                found.join(", ")
            ),
        },
        JsonTop::Other => bail!(
            "{}: JSON must be an array of records or an object holding one",
            path.display()
        ),
    };
    let place = places.into_iter().find(|p| p.0 == at).map(|p| p.1).unwrap_or_default();
    if let Some(n) = place.not_object {
        bail!("{}: record {n}: not a JSON object", path.display());
    }
    let headers = place.keys;
    // Pass 2, on its own thread: the records at `at` as rows, a few ahead.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<RawRow, String>>(ROWS_AHEAD);
    let index: std::collections::HashMap<String, usize> =
        headers.iter().enumerate().map(|(i, h)| (h.clone(), i)).collect();
    let width = headers.len();
    let path_buf = path.to_path_buf();
    let second = text()?;
    std::thread::Builder::new()
        .name("relkpi-json".into())
        .spawn(move || {
            let mut on = |_: JsonAt, n: u64, v: serde_json::Value| -> Result<(), String> {
                let serde_json::Value::Object(m) = v else {
                    return Err(format!("record {n}: not a JSON object"));
                };
                let mut fields = vec![String::new(); width];
                for (k, v) in &m {
                    // Every key was seen by the first pass (the same text).
                    let i = *index
                        .get(k)
                        .ok_or_else(|| format!("record {n}: the file changed while read"))?;
                    fields[i] = json_text(v);
                }
                let row = RawRow {
                    problem: None,
                    line: n,
                    fields: csv::StringRecord::from(fields),
                };
                // The reader is gone (the import stopped): stop too.
                tx.send(Ok(row)).map_err(|_| "the reader stopped".to_owned())
            };
            let mut walk = JsonWalk {
                only: Some(at),
                arrays: Vec::new(),
                on: &mut on,
            };
            if let Err(e) = walk_json(&path_buf, second, &mut walk) {
                let _ = tx.send(Err(format!("{e:#}")));
            }
        })
        .with_context(|| format!("{}: cannot start the JSON reader", path.display()))?;
    Ok(TableReader {
        format: FileFormat::Json,
        headers,
        encoding,
        blank_rows: 0,
        rows: RowSource::Streamed(rx),
        peeked: None,
    })
}

/// Cells an XLSX sheet may expand to (rows x columns kept in memory): about
/// 1M rows of 50 columns. A sheet beyond it is refused: export it as CSV.
pub const MAX_XLSX_FIELDS: u64 = 50_000_000;
/// Excel's own limits; a cell reference beyond them is a malformed sheet.
const XLSX_MAX_COLS: u32 = 16_384;
const XLSX_MAX_ROWS: u32 = 1_048_576;

/// Runs a calamine call, turning a panic inside it into an error naming the
/// file. calamine overflows on some malformed cell references (found by
/// `fuzz/` read_xlsx: a debug build panics, a release build wraps).
fn calamine_call<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| anyhow::anyhow!("{}: not a readable XLSX workbook: malformed sheet", path.display()))
}

/// What the XLSX reader's thread hands out after the headers.
enum SheetRow {
    Row(RawRow),
    /// A row of empty cells (skipped, counted).
    Blank,
}

/// The first sheet's rows, read on their own thread as they are taken (see
/// `sheet_rows`): memory holds a few rows, not the sheet.
fn open_xlsx(path: &Path, bytes: Vec<u8>) -> Result<TableReader> {
    let (head_tx, head_rx) = std::sync::mpsc::sync_channel::<Result<Vec<String>, String>>(1);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<SheetRow, String>>(ROWS_AHEAD);
    let path_buf = path.to_path_buf();
    std::thread::Builder::new()
        .name("relkpi-xlsx".into())
        .spawn(move || {
            let mut head = Some(head_tx);
            let read = sheet_rows(&path_buf, bytes, &mut |row| match row {
                Sheet::Headers(h) => {
                    if let Some(t) = head.take() {
                        let _ = t.send(Ok(h));
                    }
                    Ok(())
                }
                // The reader is gone (the import stopped): stop too.
                Sheet::Row(r) => tx.send(Ok(r)).map_err(|_| anyhow::anyhow!("the reader stopped")),
            });
            if let Err(e) = read {
                let e = format!("{e:#}");
                match head.take() {
                    Some(t) => drop(t.send(Err(e))),
                    None => drop(tx.send(Err(e))),
                }
            }
        })
        .with_context(|| format!("{}: cannot start the XLSX reader", path.display()))?;
    let headers = head_rx
        .recv()
        .map_err(|_| anyhow::anyhow!("{}: the XLSX reader stopped", path.display()))?
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(TableReader {
        format: FileFormat::Xlsx,
        headers,
        encoding: "xlsx",
        blank_rows: 0,
        rows: RowSource::Sheet(rx),
        peeked: None,
    })
}

/// What `sheet_rows` hands out: the headers once, then the rows after them.
enum Sheet {
    Headers(Vec<String>),
    Row(SheetRow),
}

/// The first sheet, cell by cell (calamine's streaming reader), handed to
/// `out` a row at a time as each row ends: memory follows the cells of one
/// row, not the sheet's declared or spanned dimensions, so a workbook with
/// one cell at A1 and one at XFD1048576 does not allocate the rectangle
/// between them. Rows come in the sheet's order (as Excel and every library
/// writing XLSX store them); a row stored after a later one is refused.
fn sheet_rows(path: &Path, bytes: Vec<u8>, out: &mut dyn FnMut(Sheet) -> Result<()>) -> Result<()> {
    use calamine::{Data, Reader, Xlsx};
    let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: not a readable XLSX workbook: {e}", path.display());
    let mut wb: Xlsx<_> = calamine_call(path, || Xlsx::new(std::io::Cursor::new(bytes)))?.map_err(|e| bad(&e))?;
    let sheet = wb
        .sheet_names()
        .first()
        .cloned()
        .with_context(|| format!("{}: the workbook has no sheets", path.display()))?;
    let mut reader = calamine_call(path, || wb.worksheet_cells_reader(&sheet))?
        .map_err(|e| anyhow::anyhow!("{}: sheet {sheet:?}: {e}", path.display()))?;
    let text = |c: Data| -> String {
        match c {
            Data::Empty => String::new(),
            Data::String(s) => s,
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => b.to_string(),
            Data::DateTime(d) => match super::dates::from_excel_serial(&d.as_f64().to_string()) {
                Some(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
                None => d.as_f64().to_string(),
            },
            Data::DateTimeIso(s) | Data::DurationIso(s) => s,
            Data::Error(e) => format!("#{e:?}"),
        }
    };
    let width = |r: &[(u32, String)]| r.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0);
    let spread = |r: Vec<(u32, String)>, n: usize| -> Vec<String> {
        let mut fields = vec![String::new(); n];
        for (c, v) in r {
            fields[c as usize] = v;
        }
        fields
    };
    let mut headers: Option<usize> = None;
    let mut fields_total: u64 = 0;
    // A row ends: before the headers, its first non-empty one is them; after,
    // each is a row, or a blank row when all its cells are empty.
    let mut row_ends = |row: u32, r: Vec<(u32, String)>| -> Result<()> {
        let Some(n_headers) = headers else {
            if r.is_empty() {
                return Ok(());
            }
            let n = width(&r);
            let h: Vec<String> = spread(r, n).into_iter().map(|h| h.trim().to_owned()).collect();
            headers = Some(h.len());
            fields_total = h.len() as u64;
            return out(Sheet::Headers(h));
        };
        // Excel leaves trailing empty cells out: a short row is not truncated.
        let w = width(&r).max(n_headers);
        fields_total += w as u64;
        if fields_total > MAX_XLSX_FIELDS {
            bail!(
                "{}: sheet {sheet:?} spans more than {MAX_XLSX_FIELDS} cells: export it as CSV",
                path.display()
            );
        }
        let fields = spread(r, w);
        if fields.iter().all(|f| f.trim().is_empty()) {
            return out(Sheet::Row(SheetRow::Blank));
        }
        out(Sheet::Row(SheetRow::Row(RawRow {
            problem: None,
            line: u64::from(row) + 1,
            fields: csv::StringRecord::from(fields),
        })))
    };
    // The row being read: its number and (column, text) of its non-empty cells.
    let mut current: Option<(u32, Vec<(u32, String)>)> = None;
    let mut kept: u64 = 0;
    while let Some(cell) = calamine_call(path, || reader.next_cell())?
        .map_err(|e| anyhow::anyhow!("{}: sheet {sheet:?}: {e}", path.display()))?
    {
        let (row, col) = cell.get_position();
        if row >= XLSX_MAX_ROWS || col >= XLSX_MAX_COLS {
            bail!(
                "{}: sheet {sheet:?}: a cell at row {}, column {} lies beyond Excel's limits \
                 ({XLSX_MAX_ROWS} rows, {XLSX_MAX_COLS} columns): the sheet is malformed",
                path.display(),
                u64::from(row) + 1,
                u64::from(col) + 1
            );
        }
        let v = text(Data::from(cell.get_value().clone()));
        // A row of empty cells is a blank row; rows the sheet skips are not rows.
        match &current {
            Some((r, _)) if *r == row => {}
            Some((r, _)) if *r > row => bail!(
                "{}: sheet {sheet:?}: row {} is stored after row {}: rows out of order; \
                 save the sheet again in a spreadsheet program, or export it as CSV",
                path.display(),
                u64::from(row) + 1,
                u64::from(*r) + 1
            ),
            _ => {
                if let Some((r, cells)) = current.replace((row, Vec::new())) {
                    row_ends(r, cells)?;
                }
            }
        }
        if v.is_empty() {
            continue;
        }
        kept += 1;
        if kept > MAX_XLSX_FIELDS {
            bail!(
                "{}: sheet {sheet:?} holds more than {MAX_XLSX_FIELDS} cells: export it as CSV",
                path.display()
            );
        }
        if let Some((_, cells)) = current.as_mut() {
            // Two cells at one place: `spread` keeps the last one read.
            cells.push((col, v));
        }
    }
    if let Some((r, cells)) = current.take() {
        row_ends(r, cells)?;
    }
    if headers.is_none() {
        bail!("{}: sheet {sheet:?} is empty", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_semicolons_and_tabs() {
        assert_eq!(sniff_delimiter("a;b;c\n1;2;3"), b';');
        assert_eq!(sniff_delimiter("a\tb\n"), b'\t');
        assert_eq!(sniff_delimiter("\"a;x\",b,c\n"), b',');
    }

    #[test]
    fn decodes_bom_and_cp1252() {
        assert_eq!(decode(b"\xEF\xBB\xBFnumber".to_vec()).0, "number");
        let (s, enc, _) = decode(b"caf\xe9".to_vec());
        assert_eq!((s.as_str(), enc), ("café", "windows-1252"));
        // Mostly UTF-8 with one bad byte: UTF-8, flagged.
        let (s, enc, lossy) = decode(b"Z\xc3\xbcrich M\xc3\xbcnchen \xff".to_vec());
        assert_eq!(
            (s.as_str(), enc, lossy),
            ("Zürich München \u{FFFD}", "utf-8 with invalid bytes", true)
        );
    }

    /// Exports whose encoding, quoting and layout the streaming reader must
    /// read exactly as the whole-text reader does.
    fn samples() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("plain", b"number,state\nCHG1,Closed\nCHG2,New\n".to_vec()),
            ("bom", b"\xEF\xBB\xBFnumber;state\r\nCHG1;Closed\r\n".to_vec()),
            ("cp1252", b"number,desc\nCHG1,caf\xe9 \x80 \x93\n".to_vec()),
            (
                "lossy",
                b"number,desc\nCHG1,Z\xc3\xbcrich M\xc3\xbcnchen\nCHG2,bad \xff\nCHG3,ok\n".to_vec(),
            ),
            (
                "quoted",
                b"number,desc\n\"CHG1\",\"two\nlines, \"\"quoted\"\"\"\n\n,,\nCHG2,x\n".to_vec(),
            ),
            ("tabs", b"a\tb\tc\n1\t2\t3\n4\t5\n".to_vec()),
            (
                "crlf, blank lines, a line break in a value, no last line end",
                b"number,desc\r\nCHG1,x\r\n\r\n\r\nCHG2,\"two\r\nlines\"\r\n,,\r\nCHG3,y".to_vec(),
            ),
            (
                "lf, blank lines",
                b"number,desc\n\nCHG1,x\n\n\nCHG2,\"a\nb\"\nCHG3,y\n".to_vec(),
            ),
            ("a text ending in cr", b"number,desc\rCHG1,x\r".to_vec()),
            ("unclosed", b"a,b\n1,\"never\n2,3\n".to_vec()),
            ("nul", b"a,b\n1,x\x002\n3,4\n5,6\n7,8\n9,10\n11,12\n".to_vec()),
            ("empty", Vec::new()),
            ("bom only", b"\xEF\xBB\xBF".to_vec()),
        ]
    }

    fn rows_of(t: Result<TableReader>) -> Outcome {
        let mut t = t.map_err(|e| e.to_string())?;
        let mut rows = Vec::new();
        while let Some(r) = t.next_row().map_err(|e| e.to_string())? {
            rows.push(format!(
                "{}:{:?}:{:?}",
                r.line,
                r.fields.iter().collect::<Vec<_>>(),
                r.problem
            ));
        }
        Ok((t.headers.clone(), t.encoding, rows, t.blank_rows))
    }

    /// A table as read (headers, encoding, rows, blank rows), or the error.
    type Outcome = std::result::Result<(Vec<String>, &'static str, Vec<String>, u64), String>;

    /// The reader of before, kept as the oracle: the whole text decoded at
    /// once, then parsed.
    fn whole_text_rows(bytes: Vec<u8>) -> Outcome {
        let nuls = bytes.iter().filter(|b| **b == 0).count();
        if nuls > 0 && (nuls * 10 > bytes.len() || bytes.starts_with(&[0xFF, 0xFE])) {
            return Err(
                "x.csv: contains NUL bytes; this is not a text export (binary file, or UTF-16: save it as UTF-8 CSV)"
                    .into(),
            );
        }
        let (text, encoding, lossy) = decode(bytes);
        if text.bytes().filter(|b| *b == b'"').count() % 2 == 1 {
            let line = text
                .rfind('"')
                .map(|i| text[..i].matches('\n').count() + 1)
                .unwrap_or(0);
            return Err(format!(
                "x.csv: line {line}: a quoted field is never closed: the file is truncated or malformed"
            ));
        }
        // A line break inside a value reads as `\n` (`LfLines`).
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        // Where each record starts, as an editor numbers lines: its first
        // byte that is no line end, after a line end outside quotes.
        let mut starts = Vec::new();
        let (mut line, mut quoted, mut fresh) = (1u64, false, true);
        for b in text.bytes() {
            if fresh && b != b'\n' {
                starts.push(line);
                fresh = false;
            }
            match b {
                b'"' => quoted = !quoted,
                b'\n' => {
                    line += 1;
                    fresh |= !quoted;
                }
                _ => {}
            }
        }
        let mut records = csv::ReaderBuilder::new()
            .delimiter(sniff_delimiter(&text))
            .has_headers(false)
            .flexible(true)
            .from_reader(std::io::Cursor::new(text.into_bytes()))
            .into_records();
        let headers: Vec<String> = match records.next() {
            Some(h) => h.unwrap().iter().map(|s| s.trim().to_owned()).collect(),
            None => return Err("x.csv: the file is empty (no header line)".into()),
        };
        let (mut rows, mut blank) = (Vec::new(), 0);
        for (i, rec) in records.enumerate() {
            let mut rec = rec.map_err(|e| e.to_string())?;
            let mut pos = csv::Position::new();
            pos.set_line(starts[i + 1]);
            rec.set_position(Some(pos));
            if rec.iter().all(|f| f.trim().is_empty()) {
                blank += 1;
                continue;
            }
            let r = csv_row(rec, &headers, lossy, true);
            rows.push(format!(
                "{}:{:?}:{:?}",
                r.line,
                r.fields.iter().collect::<Vec<_>>(),
                r.problem
            ));
        }
        Ok((headers, encoding, rows, blank))
    }

    #[test]
    fn streamed_csv_reads_as_the_whole_text_does() {
        let dir = std::env::temp_dir().join(format!("relkpi-parse-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in samples() {
            let whole = rows_of(open_table(Path::new("x.csv"), bytes.clone(), FileFormat::Csv));
            assert_eq!(whole, whole_text_rows(bytes.clone()), "{name}: as before");
            for gz in [false, true] {
                let path = dir.join(if gz { "x.csv.gz" } else { "x.csv" });
                let data = if gz {
                    use std::io::Write;
                    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    e.write_all(&bytes).unwrap();
                    e.finish().unwrap()
                } else {
                    bytes.clone()
                };
                std::fs::write(&path, data).unwrap();
                let mut seen = Vec::new();
                let export = scan(&path, &mut |b| seen.extend_from_slice(b)).unwrap();
                assert_eq!(seen, bytes, "{name}: every byte handed out");
                assert_eq!(export.format, FileFormat::Csv);
                let streamed = rows_of(export.open()).map_err(|e| e.replace(&path.display().to_string(), "x.csv"));
                assert_eq!(streamed, whole, "{name} (gzip: {gz})");
                // Again: an export opens as often as needed.
                assert_eq!(rows_of(export.open()).is_ok(), whole.is_ok(), "{name}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Facts gathered chunk by chunk equal those of the whole, wherever a
    /// multi-byte character or an invalid sequence is cut.
    #[test]
    fn facts_do_not_depend_on_the_chunks() {
        let bytes = b"h\nZ\xc3\xbcrich \xe2\x82\xac \xff\xfe \xe2\x82 \"q\"\n\xf0\x9f\x98\x80\xc3".to_vec();
        let whole = CsvFacts::of(&bytes);
        for size in 1..8 {
            let mut f = CsvFacts::default();
            for c in bytes.chunks(size) {
                f.feed(c);
            }
            f.finish();
            assert_eq!(
                (f.multibyte, f.invalid, f.quotes, f.newlines, f.last_quote_line, f.len),
                (
                    whole.multibyte,
                    whole.invalid,
                    whole.quotes,
                    whole.newlines,
                    whole.last_quote_line,
                    whole.len
                ),
                "chunks of {size}"
            );
        }
        // As `decode` counts: ü € 😀 valid; ff, fe, the cut e2 82, the final c3 invalid.
        assert_eq!((whole.multibyte, whole.invalid), (3, 4));
    }

    /// The counts made in blocks of 64 (`count_where`) equal a byte-at-a-time
    /// count, on a text longer than a block, fed whole and in chunks that cut
    /// blocks anywhere.
    #[test]
    fn facts_count_as_byte_by_byte() {
        let mut bytes = Vec::new();
        for i in 0..700u32 {
            bytes.extend_from_slice(format!("r{i},\"a, b\",Z\u{fc}rich \u{20ac}").as_bytes());
            if i % 7 == 0 {
                bytes.push(0);
            }
            if i % 5 != 0 {
                bytes.push(b'\n');
            }
        }
        bytes.extend_from_slice(b"tail \"open");
        let (mut quotes, mut nuls, mut newlines, mut last_quote_line, mut multibyte) = (0u64, 0u64, 0u64, 0u64, 0u64);
        for &b in &bytes {
            match b {
                0 => nuls += 1,
                b'"' => {
                    quotes += 1;
                    last_quote_line = newlines + 1;
                }
                b'\n' => newlines += 1,
                b if b >= 0xC0 => multibyte += 1,
                _ => {}
            }
        }
        let expected = (
            quotes,
            nuls,
            newlines,
            last_quote_line,
            multibyte,
            0,
            bytes.len() as u64,
        );
        for size in [bytes.len(), 1, 63, 64, 65, 1000] {
            let mut f = CsvFacts::default();
            for c in bytes.chunks(size) {
                f.feed(c);
            }
            f.finish();
            assert_eq!(
                (
                    f.quotes,
                    f.nuls,
                    f.newlines,
                    f.last_quote_line,
                    f.multibyte,
                    f.invalid,
                    f.len
                ),
                expected,
                "chunks of {size}"
            );
        }
    }

    /// The JSON reader of before, kept as the oracle: the whole text parsed
    /// into one value, then its records turned into rows.
    fn whole_json_rows(bytes: Vec<u8>) -> Outcome {
        let (text, encoding, lossy) = decode(bytes);
        if lossy {
            return Err("lossy".into());
        }
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let records = match &value {
            serde_json::Value::Array(a) => a,
            serde_json::Value::Object(m) => JSON_WRAPPERS
                .iter()
                .find_map(|k| m.get(*k).and_then(|v| v.as_array()))
                .ok_or("no records")?,
            _ => return Err("not records".into()),
        };
        let mut headers: Vec<String> = Vec::new();
        for r in records {
            for k in r.as_object().ok_or("not an object")?.keys() {
                if !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
        }
        let mut rows = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let mut fields = vec![String::new(); headers.len()];
            for (k, v) in r.as_object().unwrap() {
                fields[headers.iter().position(|h| h == k).unwrap()] = json_text(v);
            }
            rows.push(format!("{}:{:?}:{:?}", i + 1, fields, None::<(String, String)>));
        }
        Ok((headers, encoding, rows, 0))
    }

    /// JSON exports the streaming reader must read as the whole-value reader
    /// did (rows, headers, encoding), or refuse as it did.
    #[test]
    fn streamed_json_reads_as_the_whole_value_does() {
        let samples: Vec<(&str, Vec<u8>)> = vec![
            ("array", br#"[{"number":"CHG1","state":"Closed"},{"state":"New","number":"CHG2","extra":7}]"#.to_vec()),
            ("result", br#"{"result":[{"number":"INC1","cmdb_ci":{"display_value":"pay","link":"x"},"n":1.5,"b":true,"z":null,"l":["a",{"value":"b"}]}]}"#.to_vec()),
            ("records after other keys", br#"{"meta":{"records":[1]},"count":2,"records":[{"a":"1"},{"b":"2"}]}"#.to_vec()),
            ("preference", br#"{"data":[{"d":"1"}],"result":"no","records":[{"r":"1"}]}"#.to_vec()),
            ("other place not objects", br#"{"records":[{"a":"1"}],"data":[1,2]}"#.to_vec()),
            ("empty array", b"[]".to_vec()),
            ("empty records", br#"{"records":[]}"#.to_vec()),
            ("bom", b"\xEF\xBB\xBF[{\"a\":\"caf\xc3\xa9\"}]".to_vec()),
            ("cp1252", b"[{\"a\":\"caf\xe9\"}]".to_vec()),
            ("lossy", b"[{\"a\":\"Z\xc3\xbcrich M\xc3\xbcnchen \xff\"}]".to_vec()),
            ("not an object", br#"[{"a":"1"},2]"#.to_vec()),
            ("no records", br#"{"x":[{"a":"1"}]}"#.to_vec()),
            ("scalar", b"42".to_vec()),
            ("truncated", br#"[{"a":"1"},{"a":"#.to_vec()),
            ("trailing", br#"[{"a":"1"}] x"#.to_vec()),
            ("deep", format!("[{{\"a\":{}{}}}]", "[".repeat(200), "]".repeat(200)).into_bytes()),
        ];
        let dir = std::env::temp_dir().join(format!("relkpi-parse-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in samples {
            let whole = whole_json_rows(bytes.clone());
            let from_bytes = rows_of(open_table(Path::new("x.json"), bytes.clone(), FileFormat::Json));
            match (&whole, &from_bytes) {
                (Ok(_), _) => assert_eq!(from_bytes, whole, "{name}"),
                (Err(_), Err(e)) => assert!(e.starts_with("x.json: "), "{name}: {e}"),
                (Err(w), Ok(_)) => panic!("{name}: read, where the whole value was refused ({w})"),
            }
            for gz in [false, true] {
                let path = dir.join(if gz { "x.json.gz" } else { "x.json" });
                let data = if gz {
                    use std::io::Write;
                    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    e.write_all(&bytes).unwrap();
                    e.finish().unwrap()
                } else {
                    bytes.clone()
                };
                std::fs::write(&path, data).unwrap();
                let export = scan(&path, &mut |_| {}).unwrap();
                assert_eq!(export.format, FileFormat::Json, "{name}");
                let streamed = rows_of(export.open()).map_err(|e| e.replace(&path.display().to_string(), "x.json"));
                assert_eq!(streamed, from_bytes, "{name} (gzip: {gz})");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A reader dropped before its last row stops the parsing thread.
    #[test]
    fn a_json_reader_dropped_early_stops_its_parser() {
        let mut text = String::from("[");
        for i in 0..(ROWS_AHEAD * 4) {
            text.push_str(&format!("{}{{\"n\":\"{i}\"}}", if i > 0 { "," } else { "" }));
        }
        text.push(']');
        let mut t = open_table(Path::new("x.json"), text.into_bytes(), FileFormat::Json).unwrap();
        assert_eq!(t.headers, ["n"]);
        let first = t.next_rows(3).unwrap();
        assert_eq!(first.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(&first[2].fields[0], "2");
        drop(t);
        // The parser, blocked on a full channel, sees the reader gone and ends
        // (threads are listed by name; other tests' readers end as quickly).
        let parsers = || {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter(|t| {
                    let comm = std::fs::read_to_string(t.as_ref().unwrap().path().join("comm")).unwrap_or_default();
                    comm.trim() == "relkpi-json"
                })
                .count()
        };
        let start = std::time::Instant::now();
        while parsers() > 0 {
            assert!(start.elapsed().as_secs() < 10, "the JSON parser thread still runs");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The XLSX reader of before, kept as the oracle: every cell of the sheet
    /// gathered, then the rows made.
    fn whole_sheet(path: &Path, bytes: Vec<u8>) -> Result<RawTable> {
        use calamine::{Data, Reader, Xlsx};
        let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: not a readable XLSX workbook: {e}", path.display());
        let mut wb: Xlsx<_> = calamine_call(path, || Xlsx::new(std::io::Cursor::new(bytes)))?.map_err(|e| bad(&e))?;
        let sheet = wb
            .sheet_names()
            .first()
            .cloned()
            .with_context(|| format!("{}: the workbook has no sheets", path.display()))?;
        let mut reader = calamine_call(path, || wb.worksheet_cells_reader(&sheet))?
            .map_err(|e| anyhow::anyhow!("{}: sheet {sheet:?}: {e}", path.display()))?;
        let text = |c: Data| -> String {
            match c {
                Data::Empty => String::new(),
                Data::String(s) => s,
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                Data::Float(f) => f.to_string(),
                Data::Int(i) => i.to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTime(d) => match crate::dates::from_excel_serial(&d.as_f64().to_string()) {
                    Some(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
                    None => d.as_f64().to_string(),
                },
                Data::DateTimeIso(s) | Data::DurationIso(s) => s,
                Data::Error(e) => format!("#{e:?}"),
            }
        };
        // Row -> (column, text) of its non-empty cells, in sheet order.
        let mut cells: std::collections::BTreeMap<u32, Vec<(u32, String)>> = Default::default();
        let mut kept: u64 = 0;
        while let Some(cell) = calamine_call(path, || reader.next_cell())?
            .map_err(|e| anyhow::anyhow!("{}: sheet {sheet:?}: {e}", path.display()))?
        {
            let (row, col) = cell.get_position();
            if row >= XLSX_MAX_ROWS || col >= XLSX_MAX_COLS {
                bail!(
                    "{}: sheet {sheet:?}: a cell at row {}, column {} lies beyond Excel's limits \
                     ({XLSX_MAX_ROWS} rows, {XLSX_MAX_COLS} columns): the sheet is malformed",
                    path.display(),
                    u64::from(row) + 1,
                    u64::from(col) + 1
                );
            }
            let v = text(Data::from(cell.get_value().clone()));
            // A row of empty cells is a blank row; rows the sheet skips are not rows.
            let row_cells = cells.entry(row).or_default();
            if v.is_empty() {
                continue;
            }
            kept += 1;
            if kept > MAX_XLSX_FIELDS {
                bail!(
                    "{}: sheet {sheet:?} holds more than {MAX_XLSX_FIELDS} cells: export it as CSV",
                    path.display()
                );
            }
            row_cells.push((col, v));
        }
        drop(reader);
        let mut rows_iter = cells.into_iter();
        let width = |r: &[(u32, String)]| r.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0);
        let spread = |r: Vec<(u32, String)>, n: usize| -> Vec<String> {
            let mut fields = vec![String::new(); n];
            for (c, v) in r {
                fields[c as usize] = v;
            }
            fields
        };
        let Some((_, header_cells)) = rows_iter.find(|(_, r)| !r.is_empty()) else {
            bail!("{}: sheet {sheet:?} is empty", path.display());
        };
        let n = width(&header_cells);
        let headers: Vec<String> = spread(header_cells, n)
            .into_iter()
            .map(|h| h.trim().to_owned())
            .collect();
        let mut rows = Vec::new();
        let mut blank_rows = 0;
        let mut fields_total = headers.len() as u64;
        for (row, r) in rows_iter {
            // Excel leaves trailing empty cells out: a short row is not truncated.
            let w = width(&r).max(headers.len());
            fields_total += w as u64;
            if fields_total > MAX_XLSX_FIELDS {
                bail!(
                    "{}: sheet {sheet:?} spans more than {MAX_XLSX_FIELDS} cells: export it as CSV",
                    path.display()
                );
            }
            let fields = spread(r, w);
            if fields.iter().all(|f| f.trim().is_empty()) {
                blank_rows += 1;
                continue;
            }
            rows.push(RawRow {
                problem: None,
                line: u64::from(row) + 1,
                fields: csv::StringRecord::from(fields),
            });
        }
        Ok(RawTable {
            format: FileFormat::Xlsx,
            headers,
            rows,
            blank_rows,
            encoding: "xlsx",
        })
    }

    fn sheet_outcome(t: Result<RawTable>) -> Outcome {
        let t = t.map_err(|e| e.to_string())?;
        let rows = t
            .rows
            .iter()
            .map(|r| format!("{}:{:?}:{:?}", r.line, r.fields.iter().collect::<Vec<_>>(), r.problem))
            .collect();
        Ok((t.headers, t.encoding, rows, t.blank_rows))
    }

    /// Sheets the streaming reader must read as the whole-sheet reader did.
    #[test]
    fn streamed_xlsx_reads_as_the_whole_sheet_does() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        type Fill = fn(&mut rust_xlsxwriter::Worksheet);
        let samples: Vec<(&str, Fill)> = vec![
            ("plain", |ws| {
                for (c, h) in ["Number", " State ", "Opened"].iter().enumerate() {
                    ws.write_string(0, c as u16, *h).unwrap();
                }
                ws.write_string(1, 0, "CHG1").unwrap();
                ws.write_number(1, 1, 3.0).unwrap();
                ws.write_number(1, 2, 2.5).unwrap();
                ws.write_string(2, 0, "CHG2").unwrap();
                ws.write_boolean(2, 1, true).unwrap();
            }),
            ("title rows, blank rows, short and long rows", |ws| {
                ws.write_string(2, 0, "Number").unwrap();
                ws.write_string(2, 1, "State").unwrap();
                ws.write_string(3, 0, "CHG1").unwrap();
                ws.write_string(5, 0, " ").unwrap();
                ws.write_string(6, 1, "x").unwrap();
                ws.write_string(7, 0, "CHG3").unwrap();
                ws.write_string(7, 4, "beyond the headers").unwrap();
                let blank = Format::new().set_bold();
                ws.write_blank(8, 0, &blank).unwrap();
                ws.write_string(9, 0, "CHG4").unwrap();
            }),
            ("dates", |ws| {
                ws.write_string(0, 0, "Actual end").unwrap();
                let f = Format::new().set_num_format("yyyy-mm-dd hh:mm");
                let d = ExcelDateTime::parse_from_str("2024-03-05 14:30:00").unwrap();
                ws.write_datetime_with_format(1, 0, &d, &f).unwrap();
            }),
            ("empty", |_| {}),
            ("only blanks", |ws| {
                ws.write_blank(0, 0, &Format::new().set_bold()).unwrap();
            }),
        ];
        for (name, fill) in samples {
            let mut wb = Workbook::new();
            fill(wb.add_worksheet());
            let bytes = wb.save_to_buffer().unwrap();
            let whole = sheet_outcome(whole_sheet(Path::new("x.xlsx"), bytes.clone()));
            let streamed = rows_of(open_table(Path::new("x.xlsx"), bytes, FileFormat::Xlsx));
            assert_eq!(streamed, whole, "{name}");
        }
    }

    /// A sheet whose rows are stored out of order is refused, naming the rows.
    #[test]
    fn xlsx_rows_out_of_order_are_refused() {
        use std::io::{Read, Write};
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "Number").unwrap();
        ws.write_string(1, 0, "CHG1").unwrap();
        ws.write_string(2, 0, "CHG2").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        // Swap rows 2 and 3 in the sheet's XML.
        let mut zip_in = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut zip_out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..zip_in.len() {
            let mut f = zip_in.by_index(i).unwrap();
            let name = f.name().unwrap().into_owned();
            let mut data = String::new();
            f.read_to_string(&mut data).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                let (a, b) = (data.find("<row r=\"2\"").unwrap(), data.find("<row r=\"3\"").unwrap());
                let end = data.find("</sheetData>").unwrap();
                data = format!("{}{}{}{}", &data[..a], &data[b..end], &data[a..b], &data[end..]);
            }
            zip_out
                .start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip_out.write_all(data.as_bytes()).unwrap();
        }
        let bytes = zip_out.finish().unwrap().into_inner();
        let e = read_table(Path::new("x.xlsx"), bytes, FileFormat::Xlsx).unwrap_err();
        assert!(e.to_string().contains("row 2 is stored after row 3"), "{e}");
    }

    #[test]
    fn malformed_xlsx_is_an_error_not_a_panic() {
        // Found by fuzz/ (read_xlsx): calamine overflows reading a cell reference.
        let bytes = include_bytes!("../../../fuzz/corpus/read_xlsx/seed-crash-column-overflow");
        let e = read_table(Path::new("x.xlsx"), bytes.to_vec(), FileFormat::Xlsx).unwrap_err();
        assert!(e.to_string().starts_with("x.xlsx: "), "{e}");
    }
}
