//! Walking inputs: directories, files, compressed streams and archives.
//!
//! Containers are recognised by their magic bytes, not their names: gzip (`1f 8b`), zip
//! (`PK\3\4`) and tar (`ustar` at byte 257), nested up to [`MAX_NESTING`] levels (a zip of zips,
//! a `.tar.gz` holding a `.json.gz`). Archive members are named `archive!member`. `AppleDouble`
//! entries (`__MACOSX/`, `._*`) and, while walking directories, hidden entries (`.*`) are
//! skipped: they are metadata, not inputs.
//!
//! Every top-level input gets one expansion budget ([`Limits::max_archive_bytes`]) that all its
//! decompressed bytes draw from, and every compressed stream is held to
//! [`Limits::max_compression_ratio`] (past a one-MiB grace, so tiny files that compress
//! absurdly well still read). A member that declares too much is not read at all and
//! becomes [`Delivery::Unreadable`]; a stream that lies about its size fails when it crosses
//! the cap, which the framer records as a bad frame. Either way the members around it are read.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use rampart_core::DeadLetter;

use crate::detect::{self, Detection, HEAD_BYTES};
use crate::frame::Input;
use crate::{Delivery, Limits, ReadOptions, SourceInfo, formats};

/// How deep containers may nest (a zip in a zip is two levels).
pub const MAX_NESTING: u8 = 3;

/// Decompressed bytes a stream may produce before the ratio cap applies.
const RATIO_GRACE: u64 = 1 << 20;

/// The buffer the framers read through.
const READ_BUFFER: usize = 256 * 1024;

/// Reads one canonical path (file or directory); returns how many sources it read.
pub(crate) fn read_path(
    root: &Path,
    options: &ReadOptions,
    deliver: &mut dyn FnMut(Delivery),
) -> u64 {
    let mut walker = Walker {
        options,
        deliver,
        sources: 0,
    };
    walker.walk(root, 0);
    walker.sources
}

/// Reads bytes in memory as a file called `name`; returns how many sources it read.
pub(crate) fn read_memory(
    name: &str,
    bytes: &[u8],
    options: &ReadOptions,
    deliver: &mut dyn FnMut(Delivery),
) -> u64 {
    let mut walker = Walker {
        options,
        deliver,
        sources: 0,
    };
    let budget = Budget::new(&options.limits);
    walker.stream(name.to_owned(), Box::new(bytes), 0, &budget);
    walker.sources
}

/// The decompressed bytes one top-level input may still produce.
struct Budget {
    remaining: Cell<u64>,
    cap: u64,
}

impl Budget {
    fn new(limits: &Limits) -> Self {
        Self {
            remaining: Cell::new(limits.max_archive_bytes),
            cap: limits.max_archive_bytes,
        }
    }

    fn take(&self, bytes: u64) -> std::io::Result<()> {
        let remaining = self.remaining.get();
        if bytes > remaining {
            self.remaining.set(0);
            return Err(std::io::Error::other(format!(
                "archive expands past the cap of {} bytes (`max_archive_bytes`); treated as a decompression bomb",
                self.cap
            )));
        }
        self.remaining.set(remaining - bytes);
        Ok(())
    }
}

/// The compressed size a guarded stream's output is compared with.
enum Compressed {
    /// As declared by the archive (zip members).
    Declared(u64),
    /// As counted while the decoder reads it (gzip streams).
    Counted(Rc<Cell<u64>>),
}

/// Counts the bytes read through it (a decoder's compressed input).
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.set(self.count.get() + read as u64);
        Ok(read)
    }
}

/// Holds a decompressed stream to the expansion budget and the ratio cap.
struct Guard<'b, R> {
    inner: R,
    produced: u64,
    compressed: Compressed,
    ratio: u64,
    budget: &'b Budget,
}

impl<R: Read> Read for Guard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.produced += read as u64;
        self.budget.take(read as u64)?;
        let compressed = match &self.compressed {
            Compressed::Declared(size) => *size,
            Compressed::Counted(count) => count.get(),
        };
        let allowed = compressed.saturating_mul(self.ratio).max(RATIO_GRACE);
        if self.produced > allowed {
            return Err(std::io::Error::other(format!(
                "compressed stream of {compressed} bytes expands past {allowed} bytes, more than {} times (`max_compression_ratio`); treated as a decompression bomb",
                self.ratio
            )));
        }
        Ok(read)
    }
}

/// Whether a path component is metadata rather than input: `AppleDouble` files and folders.
fn is_apple_double(name: &str) -> bool {
    name.split('/')
        .any(|part| part == "__MACOSX" || part.starts_with("._"))
}

struct Walker<'o, 'd> {
    options: &'o ReadOptions,
    deliver: &'d mut dyn FnMut(Delivery),
    sources: u64,
}

impl Walker<'_, '_> {
    fn limits(&self) -> &Limits {
        &self.options.limits
    }

    /// A dead letter for a whole source.
    fn unreadable(&mut self, name: &str, reason: String, head: &[u8]) {
        self.sources += 1;
        let source = SourceInfo {
            source: name.to_owned(),
            ingested_at: crate::now(),
        };
        let head = head.get(..DeadLetter::RAW_CAP).unwrap_or(head);
        (self.deliver)(Delivery::unreadable(&source, None, reason, head));
    }

    fn walk(&mut self, path: &Path, depth: usize) {
        let name = path.to_string_lossy().into_owned();
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(error) => {
                return self.unreadable(&name, format!("cannot read `{name}`: {error}"), &[]);
            }
        };
        if metadata.is_file() {
            return self.file(path, &name);
        }
        if !metadata.is_dir() {
            return self.unreadable(
                &name,
                format!("`{name}` is neither a file nor a directory"),
                &[],
            );
        }
        // Symbolic links can make a directory its own descendant; real trees are far shallower.
        if depth > 64 {
            return self.unreadable(&name, format!("directory `{name}` is nested more than 64 levels deep; is there a symbolic link loop?"), &[]);
        }
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(error) => {
                return self.unreadable(
                    &name,
                    format!("cannot list directory `{name}`: {error}"),
                    &[],
                );
            }
        };
        let mut children = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let file_name = entry.file_name().to_string_lossy().into_owned();
                    if file_name.starts_with('.') || file_name == "__MACOSX" {
                        continue;
                    }
                    children.push(entry.path());
                }
                Err(error) => {
                    return self.unreadable(
                        &name,
                        format!("cannot list directory `{name}`: {error}"),
                        &[],
                    );
                }
            }
        }
        children.sort();
        for child in children {
            self.walk(&child, depth + 1);
        }
    }

    fn file(&mut self, path: &Path, name: &str) {
        let name = std::fs::canonicalize(path).map_or_else(
            |_| name.to_owned(),
            |path| path.to_string_lossy().into_owned(),
        );
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(error) => {
                return self.unreadable(&name, format!("cannot open `{name}`: {error}"), &[]);
            }
        };
        let budget = Budget::new(self.limits());
        let mut magic = [0u8; 4];
        let is_zip = file.read_exact(&mut magic).is_ok() && is_zip_magic(&magic);
        if let Err(error) = file.seek(SeekFrom::Start(0)) {
            return self.unreadable(&name, format!("cannot read `{name}`: {error}"), &[]);
        }
        if is_zip {
            // A zip on disk is read in place: the central directory needs random access.
            self.zip(&name, BufReader::new(file), 1, &budget);
        } else {
            self.stream(name, Box::new(file), 0, &budget);
        }
    }

    /// Reads a stream: unwraps a container, or detects the format and reads the records.
    fn stream(&mut self, name: String, mut reader: Box<dyn Read + '_>, level: u8, budget: &Budget) {
        let mut head = Vec::new();
        if let Err(error) = (&mut reader).take(HEAD_BYTES as u64).read_to_end(&mut head) {
            return self.unreadable(&name, format!("cannot read `{name}`: {error}"), &head);
        }
        let container = Container::of(&head);
        if container != Container::None && level >= MAX_NESTING {
            return self.unreadable(
                &name,
                format!("archive nested more than {MAX_NESTING} levels deep; unpack it first"),
                &head,
            );
        }
        if container == Container::None {
            return self.records(name, head, reader);
        }
        let rest = Cursor::new(head).chain(reader);
        match container {
            Container::Gzip => {
                let count = Rc::new(Cell::new(0));
                let decoder = flate2::read::MultiGzDecoder::new(Counted {
                    inner: rest,
                    count: Rc::clone(&count),
                });
                let guard = Guard {
                    inner: decoder,
                    produced: 0,
                    compressed: Compressed::Counted(count),
                    ratio: self.limits().max_compression_ratio,
                    budget,
                };
                self.stream(name, Box::new(guard), level + 1, budget);
            }
            Container::Zip => {
                // A nested zip needs random access: hold it in memory, within the caps.
                let cap = self
                    .limits()
                    .max_document_bytes
                    .min(usize::try_from(budget.remaining.get()).unwrap_or(usize::MAX));
                let mut bytes = Vec::new();
                let mut limited = rest.take(cap as u64 + 1);
                if let Err(error) = limited.read_to_end(&mut bytes) {
                    return self.unreadable(
                        &name,
                        format!("cannot read zip archive `{name}`: {error}"),
                        &bytes,
                    );
                }
                if bytes.len() > cap {
                    return self.unreadable(
                        &name,
                        format!("nested zip archive is larger than {cap} bytes (`max_document_bytes` or what is left of `max_archive_bytes`); unpack it first"),
                        &bytes,
                    );
                }
                self.zip(&name, Cursor::new(bytes), level + 1, budget);
            }
            Container::Tar | Container::None => self.tar(&name, rest, level + 1, budget),
        }
    }

    /// Detects the format of a plain stream and hands it to the format's reader.
    fn records(&mut self, name: String, head: Vec<u8>, reader: Box<dyn Read + '_>) {
        let format = match self.options.format {
            Some(format) => format,
            None => match detect::detect(&head) {
                Detection::Format(format) => format,
                Detection::Empty => {
                    // Nothing to read and nothing lost: an empty file yields no records.
                    self.sources += 1;
                    return;
                }
                Detection::Unsupported(reason) => return self.unreadable(&name, reason, &head),
            },
        };
        self.sources += 1;
        let source = Arc::new(SourceInfo {
            source: name,
            ingested_at: crate::now(),
        });
        let mut buffered = BufReader::with_capacity(READ_BUFFER, Cursor::new(head).chain(reader));
        let mut input = Input {
            source,
            reader: &mut buffered,
        };
        formats::read(format, &mut input, &self.options.limits, &mut *self.deliver);
    }

    fn zip<R: Read + Seek>(&mut self, name: &str, reader: R, level: u8, budget: &Budget) {
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(archive) => archive,
            Err(error) => {
                return self.unreadable(
                    name,
                    format!("cannot read zip archive `{name}`: {error}"),
                    &[],
                );
            }
        };
        let members = archive.len();
        if members > self.limits().max_archive_members {
            return self.unreadable(
                name,
                format!(
                    "zip archive holds {members} members, more than {} (`max_archive_members`); treated as a bomb",
                    self.limits().max_archive_members
                ),
                &[],
            );
        }
        let ratio = self.limits().max_compression_ratio;
        for index in 0..members {
            let member = match archive.by_index(index) {
                Ok(member) => member,
                Err(error) => {
                    self.unreadable(
                        &format!("{name}!#{index}"),
                        format!("cannot read zip member {index} of `{name}`: {error}"),
                        &[],
                    );
                    continue;
                }
            };
            let member_name = member
                .name()
                .map_or_else(|_| format!("#{index}"), std::borrow::Cow::into_owned);
            if member.is_dir() || is_apple_double(&member_name) {
                continue;
            }
            let source = format!("{name}!{member_name}");
            let (size, compressed) = (member.size(), member.compressed_size());
            let allowed = compressed.saturating_mul(ratio).max(RATIO_GRACE);
            if size > budget.remaining.get() {
                self.unreadable(
                    &source,
                    format!("zip member expands to {size} bytes, past what is left of the {}-byte cap (`max_archive_bytes`); treated as a decompression bomb", budget.cap),
                    &[],
                );
                continue;
            }
            if size > allowed {
                self.unreadable(
                    &source,
                    format!("zip member of {compressed} bytes expands to {size} bytes, more than {ratio} times (`max_compression_ratio`); treated as a decompression bomb"),
                    &[],
                );
                continue;
            }
            let guard = Guard {
                inner: member,
                produced: 0,
                compressed: Compressed::Declared(compressed),
                ratio,
                budget,
            };
            self.stream(source, Box::new(guard), level, budget);
        }
    }

    fn tar(&mut self, name: &str, reader: impl Read, level: u8, budget: &Budget) {
        let mut archive = tar::Archive::new(reader);
        let entries = match archive.entries() {
            Ok(entries) => entries,
            Err(error) => {
                return self.unreadable(
                    name,
                    format!("cannot read tar archive `{name}`: {error}"),
                    &[],
                );
            }
        };
        let mut members = 0usize;
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    // A broken tar header leaves no reliable way to find the next member.
                    return self.unreadable(
                        name,
                        format!("tar archive `{name}` is corrupt after {members} members: {error}"),
                        &[],
                    );
                }
            };
            members += 1;
            if members > self.limits().max_archive_members {
                return self.unreadable(
                    name,
                    format!("tar archive holds more than {} members (`max_archive_members`); the rest is not read", self.limits().max_archive_members),
                    &[],
                );
            }
            if !matches!(
                entry.header().entry_type(),
                tar::EntryType::Regular | tar::EntryType::Continuous
            ) {
                continue;
            }
            let member_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if is_apple_double(&member_name) {
                continue;
            }
            let source = format!("{name}!{member_name}");
            let size = entry.header().size().unwrap_or(u64::MAX);
            if size > self.limits().max_archive_bytes {
                self.unreadable(
                    &source,
                    format!("tar member of {size} bytes is larger than the {}-byte cap (`max_archive_bytes`)", self.limits().max_archive_bytes),
                    &[],
                );
                continue;
            }
            self.stream(source, Box::new(entry), level, budget);
        }
    }
}

/// The container a stream's first bytes announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Gzip,
    Zip,
    Tar,
    None,
}

impl Container {
    fn of(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if is_zip_magic(head) {
            Self::Zip
        } else if head.get(257..262) == Some(b"ustar") {
            Self::Tar
        } else {
            Self::None
        }
    }
}

fn is_zip_magic(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}
