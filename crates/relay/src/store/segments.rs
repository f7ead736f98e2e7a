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
//!
//! Spare segments: an append that grows its file makes `fdatasync` write the inode too (the
//! new size), a second device write per commit. Once a segment has taken
//! [`Sizes::spare_after`] bytes (a relay under load), a background thread writes the next
//! segment's file full of zeros; when the current segment is full that file becomes the next
//! one, and each commit's flush writes its data alone (on this machine's disk ~0.16 instead
//! of ~0.27 ms per 32 KB commit). The zeros go out in small flushed steps with pauses
//! between: one 64 MB flush made every commit flushing meanwhile wait ~40 ms behind it.
//! Zeros end recovery's reading of a segment just as the end of a file does. A relay that
//! never fills 1 MB of a segment makes none; a segment taken from a spare holds its full
//! 64 MB on disk even when it is closed early (a restart, an erasure, a failed write).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const SUFFIX: &str = ".seg";
/// The ending of the files spares are prepared in (not a `.seg`: nothing reads or frees
/// them). Each spare has a name of its own, so that no two threads ever write one file.
const SPARE_SUFFIX: &str = ".spare";
/// Zeros per flushed step while a spare is prepared: the commits' own flushes never queue
/// behind more than one step.
const SPARE_STEP: usize = 256 * 1024;

/// How large segments grow, and when a spare is prepared.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// A segment is closed once it would grow past this; smaller files are freed sooner.
    pub max_segment: u64,
    /// Bytes appended to the current segment after which the next one is prepared.
    pub spare_after: u64,
    /// The pause after each step of zeros.
    pub spare_pause: std::time::Duration,
}

impl Default for Sizes {
    fn default() -> Self {
        Self {
            max_segment: 64 * 1024 * 1024,
            spare_after: 1024 * 1024,
            // ~80 MB/s with the steps' own flushes: ahead of the fastest ingest measured
            // here (~60 MB/s of sealed events), in pauses the commits' flushes go through.
            spare_pause: std::time::Duration::from_millis(3),
        }
    }
}

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
    sizes: Sizes,
    current: Option<Current>,
    next_number: i64,
    /// The next segment's file being zeroed, if one was started and not taken yet.
    spare: Option<Spare>,
    /// Set once a spare failed (a full disk, a file system without hard links): no more
    /// spares until the next start, where 64 MB of zeros would compete with the events.
    spares_off: bool,
}

/// A spare being made: its file, the thread zeroing it, and the flag that stops that thread.
#[derive(Debug)]
struct Spare {
    path: PathBuf,
    thread: std::thread::JoinHandle<io::Result<File>>,
    cancel: Arc<AtomicBool>,
}

impl Drop for Segments {
    /// A spare still being made stops within a step and removes its file.
    fn drop(&mut self) {
        if let Some(spare) = &self.spare {
            spare.cancel.store(true, Ordering::Relaxed);
        }
    }
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
        Self::open_with(dir, Sizes::default())
    }

    /// [`Segments::open`] with other sizes (tests).
    pub fn open_with(dir: &Path, sizes: Sizes) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        // Spares left by a crash or an earlier run may be half made: start afresh.
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.to_str().is_some_and(|p| p.ends_with(SPARE_SUFFIX)) {
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        let next_number = existing(dir)?.into_iter().max().map_or(1, |n| n + 1);
        Ok(Self {
            dir: dir.to_owned(),
            sizes,
            current: None,
            next_number,
            spare: None,
            spares_off: false,
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
        let max = self.sizes.max_segment;
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.len > 0 && c.len + len > max)
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
        let file = current.file.clone();
        // One spare at a time: the one started for this segment stays until the next
        // rotation takes it (a spare not ready then serves the one after).
        if current.len >= self.sizes.spare_after && self.spare.is_none() && !self.spares_off {
            self.start_spare();
        }
        Ok((extent, file))
    }

    /// Starts zeroing the next segment's file on a thread of its own.
    fn start_spare(&mut self) {
        let path = self
            .dir
            .join(format!("{}{SPARE_SUFFIX}", uuid::Uuid::new_v4()));
        let cancel = Arc::new(AtomicBool::new(false));
        let Sizes {
            max_segment,
            spare_pause,
            ..
        } = self.sizes;
        let (file, stop) = (path.clone(), cancel.clone());
        let started = std::thread::Builder::new()
            .name("segment-spare".into())
            .spawn(move || zeroed_file(&file, max_segment, spare_pause, &stop));
        match started {
            Ok(thread) => {
                self.spare = Some(Spare {
                    path,
                    thread,
                    cancel,
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not start preparing segments; appending to new files");
                self.spares_off = true;
            }
        }
    }

    /// The spare, if it is ready, as segment `number`. Never waits for one being made: the
    /// append would wait with it. Linked, not renamed: a link never replaces a file already
    /// there, as `create_new` never did.
    fn take_spare(&mut self, number: i64) -> Option<File> {
        if !self.spare.as_ref()?.thread.is_finished() {
            return None;
        }
        let spare = self.spare.take()?;
        let made = spare
            .thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the spare segment's thread panicked")));
        let linked = made.and_then(|file| {
            std::fs::hard_link(&spare.path, segment_path(&self.dir, number)).map(|()| file)
        });
        // Its own name goes either way: as a segment it has the new one, and a failed spare
        // must not hold its space (a crash before this leaves it to the next start).
        let _ = std::fs::remove_file(&spare.path);
        match linked {
            Ok(file) => Some(file),
            Err(e) => {
                tracing::warn!(error = %e, "no spare segments any more; appending to new files");
                self.spares_off = true;
                None
            }
        }
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
        let file = match self.take_spare(number) {
            Some(file) => file,
            // Not O_APPEND: writes go to the offsets `place` handed out (pwrite).
            None => OpenOptions::new()
                .create_new(true)
                .write(true)
                .open(segment_path(&self.dir, number))?,
        };
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

/// A file of `len` zeros, each step flushed: its blocks are allocated and written, so
/// overwriting them later changes no metadata an `fdatasync` must write. (Blocks not yet
/// durable could hold a freed file's old bytes after a crash, chunks recovery might take.)
/// Stopped by `cancel` or a failure, it removes what it wrote.
fn zeroed_file(
    path: &Path,
    len: u64,
    pause: std::time::Duration,
    cancel: &AtomicBool,
) -> io::Result<File> {
    let file = OpenOptions::new().create_new(true).write(true).open(path)?;
    let zeros = vec![0u8; SPARE_STEP];
    let mut at = 0u64;
    let made = loop {
        if at >= len {
            break Ok(());
        }
        if cancel.load(Ordering::Relaxed) {
            break Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "spare cancelled",
            ));
        }
        let n = usize::try_from(len - at).map_or(zeros.len(), |left| left.min(zeros.len()));
        if let Err(e) = file
            .write_all_at(&zeros[..n], at)
            .and_then(|()| file.sync_data())
        {
            break Err(e);
        }
        at += n as u64;
        std::thread::sleep(pause);
    };
    match made {
        Ok(()) => Ok(file),
        Err(e) => {
            let _ = std::fs::remove_file(path);
            Err(e)
        }
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

    /// The spare files in `dir`.
    fn spares(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_str().unwrap().ends_with(SPARE_SUFFIX))
            .collect()
    }

    fn segment_len(dir: &Path, number: i64) -> u64 {
        std::fs::metadata(segment_path(dir, number)).unwrap().len()
    }

    fn wait_for_spare(segs: &Segments) {
        while !segs.spare.as_ref().unwrap().thread.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Under load the next segment is zeroed ahead and taken over when the current one is
    /// full: same numbering, same contents read back, the rest of the file zeros. A restart
    /// removes spares that may be half made; a relay that never fills `spare_after` makes none.
    #[test]
    fn a_spare_segment_becomes_the_next_one_once_ready() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = Sizes {
            max_segment: 64 * 1024,
            spare_after: 16 * 1024,
            spare_pause: std::time::Duration::ZERO,
        };
        let mut segs = Segments::open_with(dir.path(), sizes).unwrap();
        let run = |n: u8| vec![n; 20 * 1024];
        let first = segs.append(&run(1)).unwrap();
        assert!(
            segs.spare.is_some(),
            "past spare_after: the spare is being made"
        );
        wait_for_spare(&segs);
        let made = spares(dir.path());
        assert_eq!(made.len(), 1);
        assert_eq!(std::fs::metadata(&made[0]).unwrap().len(), 64 * 1024);
        segs.append(&run(2)).unwrap();
        segs.append(&run(3)).unwrap();
        // The fourth run does not fit: segment 2 is the spare, under its new name.
        let fourth = segs.append(&run(4)).unwrap();
        assert_eq!((first.segment, fourth.segment, fourth.offset), (1, 2, 0));
        assert!(!made[0].exists());
        let raw = std::fs::read(segment_path(dir.path(), 2)).unwrap();
        assert_eq!(raw.len(), 64 * 1024);
        assert_eq!(&raw[..20 * 1024], &run(4)[..]);
        assert!(raw[20 * 1024..].iter().all(|b| *b == 0));
        assert_eq!(read_extent(dir.path(), first).unwrap(), run(1));
        // Segment 2 passed spare_after at once: its own spare is on its way.
        assert!(segs.spare.is_some());
        wait_for_spare(&segs);

        drop(segs);
        std::fs::write(dir.path().join(format!("left{SPARE_SUFFIX}")), b"half").unwrap();
        let mut segs = Segments::open_with(dir.path(), sizes).unwrap();
        assert_eq!(spares(dir.path()), Vec::<PathBuf>::new());
        let small = segs.append(b"quiet").unwrap();
        assert_eq!((small.segment, small.offset), (3, 0));
        assert!(segs.spare.is_none(), "below spare_after: no spare");
        assert_eq!(segment_len(dir.path(), 3), 5);
    }

    /// A segment filled before its spare is ready goes on in a file of its own, without
    /// waiting; the spare is taken at the next rotation.
    #[test]
    fn a_spare_not_ready_is_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = Sizes {
            max_segment: 2 * SPARE_STEP as u64,
            spare_after: 1,
            // Two steps, each followed by this: far longer than the appends below.
            spare_pause: std::time::Duration::from_secs(1),
        };
        let mut segs = Segments::open_with(dir.path(), sizes).unwrap();
        let big = vec![7u8; SPARE_STEP + 1];
        let a = segs.append(&big).unwrap();
        let b = segs.append(&big).unwrap();
        assert_eq!((a.segment, b.segment, b.offset), (1, 2, 0));
        // Segment 2 is a plain file (the spare was still being zeroed): its own length.
        assert_eq!(segment_len(dir.path(), 2), big.len() as u64);
        wait_for_spare(&segs);
        let c = segs.append(&big).unwrap();
        assert_eq!((c.segment, c.offset), (3, 0));
        assert_eq!(segment_len(dir.path(), 3), sizes.max_segment);
        assert_eq!(read_extent(dir.path(), b).unwrap(), big);
        assert_eq!(read_extent(dir.path(), c).unwrap(), big);
    }

    /// Dropped (the store closed) while a spare is being made: the thread stops and removes
    /// its file, so a store opened again never shares a spare with it.
    #[test]
    fn a_spare_being_made_stops_when_its_segments_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = Sizes {
            max_segment: 64 * SPARE_STEP as u64,
            spare_after: 1,
            spare_pause: std::time::Duration::from_millis(50),
        };
        let mut segs = Segments::open_with(dir.path(), sizes).unwrap();
        segs.append(b"x").unwrap();
        let until = |done: &dyn Fn() -> bool, what: &str| {
            let started = std::time::Instant::now();
            while !done() {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(2),
                    "{what}"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        };
        until(&|| !spares(dir.path()).is_empty(), "no spare was started");
        drop(segs);
        // 64 steps would take over 3 s; cancelled, it ends after the step in progress.
        until(
            &|| spares(dir.path()).is_empty(),
            "the spare was not removed",
        );
    }
}
