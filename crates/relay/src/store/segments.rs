//! Append-only segment files holding the sealed bytes of every workspace's event log.
//!
//! Why not rows: SQLite's cost per row at 2.3 KB (overflow pages, WAL frames, B-tree
//! balancing) capped the relay near 10,000 events/s on two cores. Here a group commit's
//! events are one `write` and one `fdatasync` at the end of the current segment, and SQLite
//! only records, per workspace and commit, where that run of events lies (`event_chunks`).
//!
//! Durability order: the bytes are fdatasync'd *before* the transaction that references them
//! commits. A crash in between leaves unreferenced bytes at a segment's tail, which nothing
//! reads; every start (and every failed write) opens a fresh segment, so a torn tail is never
//! appended to. A segment file is removed once no chunk references it (pruning, deletion);
//! a deleted workspace's ranges are overwritten with zeros first (see [`Segments::erase`]).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A segment is closed once it would grow past this; smaller files are freed sooner.
const MAX_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
const SUFFIX: &str = ".seg";

/// Where a run of bytes was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub segment: i64,
    pub offset: i64,
    pub len: i64,
}

/// The writer's side: only the group-commit path appends (one transaction at a time).
#[derive(Debug)]
pub struct Segments {
    dir: PathBuf,
    current: Option<Current>,
    next_number: i64,
}

#[derive(Debug)]
struct Current {
    number: i64,
    file: Arc<File>,
    len: u64,
}

/// `dir/0000000042.seg`
pub fn segment_path(dir: &Path, number: i64) -> PathBuf {
    dir.join(format!("{number:010}{SUFFIX}"))
}

fn segment_number(path: &Path) -> Option<i64> {
    path.file_name()?
        .to_str()?
        .strip_suffix(SUFFIX)?
        .parse()
        .ok()
}

/// The segment numbers present in `dir`.
pub fn existing(dir: &Path) -> io::Result<Vec<i64>> {
    let mut numbers = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        if let Some(n) = segment_number(&entry?.path()) {
            numbers.push(n);
        }
    }
    Ok(numbers)
}

impl Segments {
    /// Opens the segment directory (creating it). Nothing is appended to an existing file:
    /// the first append starts a new segment numbered after the highest present.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let next_number = existing(dir)?.into_iter().max().map_or(1, |n| n + 1);
        Ok(Self {
            dir: dir.to_owned(),
            current: None,
            next_number,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `bytes` and fdatasyncs them: when this returns Ok they survive a crash.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<Extent> {
        let len = u64::try_from(bytes.len()).map_err(io::Error::other)?;
        let (extent, file) = self.place(len)?;
        let written = write_durably(&file, extent, bytes);
        if written.is_err() {
            self.abandon(extent.segment);
        }
        written.map(|()| extent)
    }

    /// Reserves the next `len` bytes of the current segment (starting one if needed) and
    /// returns where they go and the file to write them to with [`write_durably`], so that
    /// the write and its fdatasync can run while the transaction goes on. A writer whose
    /// write fails must [`Segments::abandon`] the segment.
    pub fn place(&mut self, len: u64) -> io::Result<(Extent, Arc<File>)> {
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.len > 0 && c.len + len > MAX_SEGMENT_BYTES)
        {
            self.current = None;
        }
        if self.current.is_none() {
            self.current = Some(self.start_segment()?);
        }
        let Some(current) = self.current.as_mut() else {
            return Err(io::Error::other("no current segment"));
        };
        let extent = Extent {
            segment: current.number,
            offset: i64::try_from(current.len).map_err(io::Error::other)?,
            len: i64::try_from(len).map_err(io::Error::other)?,
        };
        current.len += len;
        Ok((extent, current.file.clone()))
    }

    /// Stops appending to `segment` after a failed write: its durable prefix stays readable
    /// and the next append starts a new one. After a failed fsync the kernel may have dropped
    /// dirty pages while reporting later fsyncs as clean, so that file is never trusted again.
    pub fn abandon(&mut self, segment: i64) {
        if self.current.as_ref().is_some_and(|c| c.number == segment) {
            self.current = None;
        }
    }

    fn start_segment(&mut self) -> io::Result<Current> {
        let number = self.next_number;
        self.next_number += 1;
        // Not O_APPEND: writes go to the offsets `place` handed out (pwrite).
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(segment_path(&self.dir, number))?;
        // The new name must be durable too, or a crash could lose the whole file even
        // though its contents were fdatasync'd.
        File::open(&self.dir)?.sync_all()?;
        Ok(Current {
            number,
            file: Arc::new(file),
            len: 0,
        })
    }

    /// Makes the next append start a new segment. After an erase: recovery reads a segment
    /// only up to its first invalid chunk, so nothing may be appended after zeroed ranges.
    pub fn rotate(&mut self) {
        self.current = None;
    }

    /// Overwrites the given extents with zeros in place and syncs them: a deleted
    /// workspace's ciphertext leaves the disk now, not when its segments are next freed.
    pub fn erase(&self, extents: &[Extent]) -> io::Result<()> {
        let mut touched: Vec<(i64, File)> = Vec::new();
        for e in extents {
            let at = touched.iter().position(|(n, _)| *n == e.segment);
            let file = match at {
                Some(i) => &touched[i].1,
                None => {
                    let path = segment_path(&self.dir, e.segment);
                    let file = match OpenOptions::new().write(true).open(&path) {
                        Ok(f) => f,
                        // Already freed: nothing left to overwrite.
                        Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                        Err(err) => return Err(err),
                    };
                    touched.push((e.segment, file));
                    &touched[touched.len() - 1].1
                }
            };
            let zeros = vec![0u8; usize::try_from(e.len).map_err(io::Error::other)?];
            file.write_all_at(&zeros, u64::try_from(e.offset).map_err(io::Error::other)?)?;
        }
        for (_, file) in &touched {
            file.sync_data()?;
        }
        Ok(())
    }

    /// Removes every segment not in `referenced`, except the one being appended to.
    /// Returns how many files were removed.
    pub fn remove_unreferenced(&mut self, referenced: &HashSet<i64>) -> io::Result<usize> {
        let current = self.current.as_ref().map(|c| c.number);
        let mut removed = 0;
        for number in existing(&self.dir)? {
            if Some(number) == current || referenced.contains(&number) {
                continue;
            }
            match std::fs::remove_file(segment_path(&self.dir, number)) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if removed > 0 {
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(removed)
    }
}

/// Writes `bytes` at `extent` and fdatasyncs the file: once Ok, they survive a crash.
pub fn write_durably(file: &File, extent: Extent, bytes: &[u8]) -> io::Result<()> {
    write_durably_timed(file, extent, bytes).map(|_| ())
}

/// [`write_durably`], returning how many microseconds the write took (before the flush).
pub fn write_durably_timed(file: &File, extent: Extent, bytes: &[u8]) -> io::Result<u64> {
    let started = std::time::Instant::now();
    file.write_all_at(
        bytes,
        u64::try_from(extent.offset).map_err(io::Error::other)?,
    )?;
    let written_us = crate::timing::micros(started.elapsed());
    file.sync_data()?;
    Ok(written_us)
}

/// Reads one extent (readers open the file themselves: they never wait for the writer).
pub fn read_extent(dir: &Path, extent: Extent) -> io::Result<Vec<u8>> {
    let file = File::open(segment_path(dir, extent.segment))?;
    let mut buf = vec![0u8; usize::try_from(extent.len).map_err(io::Error::other)?];
    file.read_exact_at(
        &mut buf,
        u64::try_from(extent.offset).map_err(io::Error::other)?,
    )?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_read_back_erase_and_free_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut segs = Segments::open(dir.path()).unwrap();
        let a = segs.append(b"first run").unwrap();
        let b = segs.append(b"second").unwrap();
        assert_eq!((a.segment, a.offset, a.len), (1, 0, 9));
        assert_eq!((b.segment, b.offset), (1, 9));
        assert_eq!(read_extent(dir.path(), b).unwrap(), b"second");

        segs.erase(&[a]).unwrap();
        let raw = std::fs::read(segment_path(dir.path(), 1)).unwrap();
        assert_eq!(&raw[..9], &[0u8; 9]);
        assert_eq!(&raw[9..], b"second");

        // A reopened store never appends to an old file.
        drop(segs);
        let mut segs = Segments::open(dir.path()).unwrap();
        let c = segs.append(b"after restart").unwrap();
        assert_eq!((c.segment, c.offset), (2, 0));
        // Segment 1 is referenced by nothing: removed; the current one stays.
        assert_eq!(segs.remove_unreferenced(&HashSet::new()).unwrap(), 1);
        assert!(!segment_path(dir.path(), 1).exists());
        assert_eq!(read_extent(dir.path(), c).unwrap(), b"after restart");
    }
}
