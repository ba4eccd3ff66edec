//! A bounds-checked big-endian reader over one record's bytes.

use crate::error::{ProtocolError, Result};

/// Reads fields from `buf`; every read checks the remaining length first.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Name of the structure, for errors.
    what: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(what: &'static str, buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0, what }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes; an overrun means the record's declared size is too small.
    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(ProtocolError::malformed(
                self.what,
                format!(
                    "{field} needs {n} bytes but only {} remain within TOTALSIZE",
                    self.remaining()
                ),
            ));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn i8(&mut self, field: &'static str) -> Result<i8> {
        Ok(i8::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    /// A non-negative length stored as a signed integer.
    pub(crate) fn len_from(&self, value: i64, field: &'static str) -> Result<usize> {
        usize::try_from(value)
            .map_err(|_| ProtocolError::malformed(self.what, format!("negative {field} {value}")))
    }

    /// The `len` bytes of `field`, `len` read from its length field `len_field` (which must not
    /// be negative).
    pub(crate) fn counted(
        &mut self,
        len: i64,
        len_field: &'static str,
        field: &'static str,
    ) -> Result<&'a [u8]> {
        let len = self.len_from(len, len_field)?;
        self.take(len, field)
    }

    /// Fails unless every byte was read: `last` is the field that should have ended the record.
    pub(crate) fn end(&self, last: &'static str) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(ProtocolError::malformed(
                self.what,
                format!("{n} bytes after {last} within TOTALSIZE"),
            )),
        }
    }
}

/// Reads the big-endian i32 at `at` in `buf`, if all four bytes are there.
pub(crate) fn i32_at(buf: &[u8], at: usize) -> Option<i32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    let mut raw = [0u8; 4];
    raw.copy_from_slice(bytes);
    Some(i32::from_be_bytes(raw))
}
