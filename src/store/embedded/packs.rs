//! Pack files: each blob is one zstd frame appended to `packs/NNNNNN.pack`.
//! A pack grows to `MAX_PACK_LEN`, then the next one starts. Only one
//! writer per store at a time (an OS file lock on `write.lock`).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::{BlobLocation, BlobStore, BlobWriter};

const MAX_PACK_LEN: u64 = 1 << 30;

pub struct PackStore {
    dir: PathBuf,
}

impl PackStore {
    pub fn open(store_dir: &Path) -> Result<PackStore> {
        let dir = store_dir.join("packs");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        Ok(PackStore { dir })
    }

    fn pack_path(&self, pack: u32) -> PathBuf {
        self.dir.join(format!("{pack:06}.pack"))
    }
}

/// A wait for the store's write lock this long is logged as a warning.
const LONG_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

impl BlobStore for PackStore {
    fn writer(
        &self,
        committed: &dyn Fn() -> Result<Vec<(u32, u64)>>,
    ) -> Result<Box<dyn BlobWriter>> {
        let lock_path = self.dir.join("write.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
        if lock.try_lock().is_err() {
            // Many sessions' APPENDs take turns here all the time: only a
            // long wait (an import holding the store) is worth a warning.
            let waiting = std::time::Instant::now();
            lock.lock()
                .map_err(|e| Error::io(format!("locking {}", lock_path.display()), e))?;
            let waited = waiting.elapsed();
            if waited >= LONG_WAIT {
                tracing::warn!(store = %self.dir.display(), ?waited, "waited for another writer of this store");
            } else {
                tracing::debug!(store = %self.dir.display(), ?waited, "waited for another writer of this store");
            }
        }
        let committed = committed()?;
        let on_disk = self.pack_files()?;
        for &(pack, length) in &committed {
            match on_disk.iter().find(|(p, _)| *p == pack) {
                None => {
                    return Err(Error::Corrupt(format!(
                        "pack {} is missing; run `archimap verify`",
                        self.pack_path(pack).display()
                    )));
                }
                Some(&(_, disk_len)) if disk_len < length => {
                    return Err(Error::Corrupt(format!(
                        "pack {} is {disk_len} bytes, shorter than its committed {length}; run `archimap verify`",
                        self.pack_path(pack).display()
                    )));
                }
                Some(_) => {}
            }
        }
        // Whatever lies past the committed length was written by a writer
        // that died before its transaction committed: nothing refers to it.
        for &(pack, disk_len) in &on_disk {
            let keep = committed
                .iter()
                .find(|(p, _)| *p == pack)
                .map_or(0, |&(_, len)| len);
            if disk_len > keep {
                let path = self.pack_path(pack);
                tracing::info!(pack = %path.display(), bytes = disk_len - keep, "discarding uncommitted bytes");
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
                file.set_len(keep)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| Error::io(format!("truncating {}", path.display()), e))?;
            }
        }
        let last = committed.iter().chain(&on_disk).map(|&(p, _)| p).max();
        let (pack, length) = match last {
            Some(p) => (
                p,
                committed
                    .iter()
                    .find(|(q, _)| *q == p)
                    .map_or(0, |&(_, len)| len),
            ),
            None => (1, 0),
        };
        Ok(Box::new(PackWriter {
            store: PackStore {
                dir: self.dir.clone(),
            },
            _lock: lock,
            open: None,
            pack,
            length,
            touched: Vec::new(),
        }))
    }

    fn open(&self, location: &BlobLocation) -> Result<Box<dyn Read + Send>> {
        let path = self.pack_path(location.pack);
        let mut file =
            File::open(&path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        file.seek(SeekFrom::Start(location.offset))
            .map_err(|e| Error::io(format!("seeking in {}", path.display()), e))?;
        let frame = BufReader::new(file.take(location.length));
        let decoder = zstd::stream::read::Decoder::with_buffer(frame)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Ok(Box::new(decoder.single_frame()))
    }

    fn read(&self, location: &BlobLocation, size: u64) -> Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        thread_local! {
            // A decompression context and a frame buffer per thread, reused:
            // setting a context up costs more than decompressing a small mail.
            static READER: std::cell::RefCell<Option<(zstd::bulk::Decompressor<'static>, Vec<u8>)>> =
                const { std::cell::RefCell::new(None) };
        }
        let path = self.pack_path(location.pack);
        let file =
            File::open(&path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        READER.with_borrow_mut(|reader| {
            if reader.is_none() {
                let context = zstd::bulk::Decompressor::new()
                    .map_err(|e| Error::io("setting up zstd".to_string(), e))?;
                *reader = Some((context, Vec::new()));
            }
            let (context, frame) = reader.as_mut().expect("set above");
            frame.resize(location.length as usize, 0);
            file.read_exact_at(frame, location.offset)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            let mut bytes = Vec::with_capacity(size as usize);
            let n = context.decompress_to_buffer(frame.as_slice(), &mut bytes);
            if frame.capacity() > 4 << 20 {
                *frame = Vec::new(); // don't keep a rare big frame's buffer
            }
            match n {
                Ok(n) if n as u64 == size => Ok(bytes),
                Ok(n) => Err(Error::Corrupt(format!(
                    "blob at {}:{} holds {n} bytes, not {size}",
                    path.display(),
                    location.offset
                ))),
                Err(e) => Err(Error::Corrupt(format!(
                    "blob at {}:{}: {e}",
                    path.display(),
                    location.offset
                ))),
            }
        })
    }

    fn pack_files(&self) -> Result<Vec<(u32, u64)>> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| Error::io(format!("listing {}", self.dir.display()), e))?;
        let mut packs = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io(format!("listing {}", self.dir.display()), e))?;
            let name = entry.file_name();
            let Some(number) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".pack"))
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let len = entry
                .metadata()
                .map_err(|e| Error::io(format!("inspecting {name:?}"), e))?
                .len();
            packs.push((number, len));
        }
        packs.sort_unstable();
        Ok(packs)
    }
}

struct PackWriter {
    store: PackStore,
    _lock: File,
    open: Option<File>,
    /// The pack being appended to and its length so far.
    pack: u32,
    length: u64,
    /// Packs appended to since the last sync.
    touched: Vec<u32>,
}

impl PackWriter {
    fn file(&mut self, extra: u64) -> Result<&mut File> {
        if self.length > 0 && self.length + extra > MAX_PACK_LEN {
            self.flush_open()?;
            self.pack += 1;
            self.length = 0;
        }
        if self.open.is_none() {
            let path = self.store.pack_path(self.pack);
            let mut file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
            file.seek(SeekFrom::Start(self.length))
                .map_err(|e| Error::io(format!("seeking in {}", path.display()), e))?;
            self.open = Some(file);
        }
        Ok(self.open.as_mut().expect("opened above"))
    }

    fn flush_open(&mut self) -> Result<()> {
        if let Some(file) = self.open.take() {
            file.sync_data()
                .map_err(|e| Error::io(format!("syncing pack {}", self.pack), e))?;
        }
        Ok(())
    }
}

impl BlobWriter for PackWriter {
    fn append(&mut self, compressed: &[u8]) -> Result<BlobLocation> {
        let pack_before = self.pack;
        let file = self.file(compressed.len() as u64)?;
        file.write_all(compressed)
            .map_err(|e| Error::io(format!("writing pack {pack_before}"), e))?;
        let location = BlobLocation {
            pack: self.pack,
            offset: self.length,
            length: compressed.len() as u64,
        };
        self.length += compressed.len() as u64;
        if !self.touched.contains(&self.pack) {
            self.touched.push(self.pack);
        }
        Ok(location)
    }

    fn sync(&mut self) -> Result<Vec<(u32, u64)>> {
        if let Some(file) = &self.open {
            file.sync_data()
                .map_err(|e| Error::io(format!("syncing pack {}", self.pack), e))?;
        }
        // Earlier packs of this batch were synced when the writer moved on;
        // their final length is their length on disk.
        let mut lengths = Vec::with_capacity(self.touched.len());
        for pack in std::mem::take(&mut self.touched) {
            let length = if pack == self.pack {
                self.length
            } else {
                let path = self.store.pack_path(pack);
                std::fs::metadata(&path)
                    .map_err(|e| Error::io(format!("inspecting {}", path.display()), e))?
                    .len()
            };
            lengths.push((pack, length));
        }
        Ok(lengths)
    }
}
