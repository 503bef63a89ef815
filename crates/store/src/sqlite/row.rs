//! Reading typed values out of result rows, with corruption reported as [`StoreError`].

use rampart_core::{ContentHash, Id, IdKind, Provenance};
use rusqlite::Row;
use rusqlite::types::ValueRef;

use super::codec::{corrupt, format_from_code, id_from_blob, position_from_sql, time};
use super::sql::SqlResult as _;
use crate::StoreError;

/// One result row of a known table, for typed reads.
pub(super) struct Columns<'r, 's> {
    row: &'r Row<'s>,
    what: &'static str,
}

impl<'r, 's> Columns<'r, 's> {
    /// Wraps a row of `what` (`event`, `run`, …), named in errors.
    pub(super) const fn new(row: &'r Row<'s>, what: &'static str) -> Self {
        Self { row, what }
    }

    fn value(&self, index: usize) -> Result<ValueRef<'r>, StoreError> {
        self.row.get_ref(index).sql("read column")
    }

    fn bad(&self, index: usize, expected: &str) -> StoreError {
        corrupt(self.what, format!("column {index} is not {expected}"))
    }

    /// An INTEGER column.
    pub(super) fn i64(&self, index: usize) -> Result<i64, StoreError> {
        self.value(index)?
            .as_i64()
            .map_err(|_| self.bad(index, "an integer"))
    }

    /// A nullable INTEGER column.
    pub(super) fn opt_i64(&self, index: usize) -> Result<Option<i64>, StoreError> {
        self.value(index)?
            .as_i64_or_null()
            .map_err(|_| self.bad(index, "an integer or null"))
    }

    /// A TEXT or BLOB column's bytes.
    pub(super) fn bytes(&self, index: usize) -> Result<&'r [u8], StoreError> {
        self.value(index)?
            .as_bytes()
            .map_err(|_| self.bad(index, "text or a blob"))
    }

    /// A nullable TEXT or BLOB column's bytes.
    pub(super) fn opt_bytes(&self, index: usize) -> Result<Option<&'r [u8]>, StoreError> {
        self.value(index)?
            .as_bytes_or_null()
            .map_err(|_| self.bad(index, "text, a blob or null"))
    }

    /// A TEXT column.
    pub(super) fn text(&self, index: usize) -> Result<String, StoreError> {
        self.value(index)?
            .as_str()
            .map(str::to_owned)
            .map_err(|_| self.bad(index, "UTF-8 text"))
    }

    /// A nullable TEXT column.
    pub(super) fn opt_text(&self, index: usize) -> Result<Option<String>, StoreError> {
        self.value(index)?
            .as_str_or_null()
            .map(|text| text.map(str::to_owned))
            .map_err(|_| self.bad(index, "UTF-8 text or null"))
    }

    /// An id stored as a 16-byte BLOB.
    pub(super) fn id<K: IdKind>(&self, index: usize) -> Result<Id<K>, StoreError> {
        id_from_blob(self.bytes(index)?)
    }

    /// A storage sequence number (an INTEGER PRIMARY KEY, never negative).
    pub(super) fn seq(&self, index: usize) -> Result<u64, StoreError> {
        u64::try_from(self.i64(index)?).map_err(|_| self.bad(index, "a sequence number"))
    }

    /// The seven provenance columns starting at `first`: format, source name, position kind,
    /// position, parser name, `ingested_at`, content hash.
    pub(super) fn provenance(&self, first: usize) -> Result<Provenance, StoreError> {
        let hash = self.bytes(first + 6)?;
        Ok(Provenance {
            format: format_from_code(self.opt_i64(first)?)?,
            source: self.text(first + 1)?,
            position: position_from_sql(self.i64(first + 2)?, self.i64(first + 3)?)?,
            parser: self.text(first + 4)?,
            ingested_at: time(self.i64(first + 5)?),
            content_hash: ContentHash(
                <[u8; 32]>::try_from(hash).map_err(|_| self.bad(first + 6, "a 32-byte hash"))?,
            ),
        })
    }
}

/// The SELECT list for the seven provenance columns of table alias `t`, in the order
/// [`Columns::provenance`] reads them.
pub(super) const PROVENANCE_COLUMNS: &str = "t.format, \
     (SELECT name FROM sources WHERE id = t.source), \
     t.position_kind, t.position, \
     (SELECT name FROM parsers WHERE id = t.parser), \
     t.ingested_at, t.content_hash";
