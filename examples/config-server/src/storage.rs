//! Where the configuration lives between runs: one JSON file in a data directory,
//! replaced atomically so that a crash at any instant leaves either the old or the new
//! document, never a mix, and never loses a change that was acknowledged.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::config::{ConfigDocument, DocumentError};

/// The name of the stored document inside the data directory.
pub const DOCUMENT_FILE: &str = "config.json";
const TEMPORARY_FILE: &str = "config.json.tmp";

/// Why the stored configuration could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The directory or file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The stored document is damaged. It is left in place for a person to inspect.
    #[error(
        "{path} is not a valid configuration document ({source}); it was left untouched: repair or remove it"
    )]
    Corrupt {
        /// The stored document.
        path: PathBuf,
        /// What is wrong with it.
        source: DocumentError,
    },
}

/// Durable storage of the document, or none (the embedded defaults, in memory).
#[derive(Debug, Clone)]
pub struct Storage {
    dir: Option<PathBuf>,
}

impl Storage {
    /// No storage: changes live as long as the process.
    pub fn in_memory() -> Self {
        Storage { dir: None }
    }

    /// Opens a data directory, creating it if needed, and returns the stored document.
    /// A directory without a document is given the embedded defaults, stored at once.
    pub fn open(dir: &Path) -> Result<(Storage, ConfigDocument), StorageError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StorageError::Io { path, source }
        };
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let storage = Storage {
            dir: Some(dir.to_path_buf()),
        };
        let file = dir.join(DOCUMENT_FILE);
        match fs::read(&file) {
            Ok(bytes) => {
                let document =
                    ConfigDocument::from_json(&bytes).map_err(|source| StorageError::Corrupt {
                        path: file.clone(),
                        source,
                    })?;
                Ok((storage, document))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let document =
                    ConfigDocument::embedded_default().map_err(|source| StorageError::Corrupt {
                        path: file.clone(),
                        source,
                    })?;
                storage
                    .persist(&document.to_json())
                    .map_err(io_err(&file))?;
                Ok((storage, document))
            }
            Err(e) => Err(StorageError::Io {
                path: file,
                source: e,
            }),
        }
    }

    /// The data directory, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Stores `bytes` as the document; when this returns `Ok` they survive a crash or a
    /// power cut. Callers serialise calls (one writer at a time).
    pub fn persist(&self, bytes: &[u8]) -> io::Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let temporary = dir.join(TEMPORARY_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        // The data must be on disk before the rename makes it the document.
        file.sync_all()?;
        drop(file);
        fs::rename(&temporary, dir.join(DOCUMENT_FILE))?;
        // The rename itself is durable only once the directory entry is on disk.
        File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreLimits;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lw-storage-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn an_empty_directory_gets_the_defaults_stored() {
        let dir = scratch("empty");
        let (_, doc) = Storage::open(&dir).unwrap();
        assert_eq!(doc, ConfigDocument::embedded_default().unwrap());
        let stored = fs::read(dir.join(DOCUMENT_FILE)).unwrap();
        assert_eq!(ConfigDocument::from_json(&stored).unwrap(), doc);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_persisted_document_is_what_the_next_open_loads() {
        let dir = scratch("persist");
        let (storage, mut doc) = Storage::open(&dir).unwrap();
        doc.merge(
            "wifi",
            &serde_json::json!({"ssid": "after"}),
            &StoreLimits::DEFAULT,
        )
        .unwrap();
        storage.persist(&doc.to_json()).unwrap();
        let (_, again) = Storage::open(&dir).unwrap();
        assert_eq!(again.section("wifi").unwrap()["ssid"], "after");
        assert!(!dir.join(TEMPORARY_FILE).exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_corrupt_document_is_an_error_and_is_left_in_place() {
        let dir = scratch("corrupt");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(DOCUMENT_FILE), b"{\"wifi\": {\"ssid\": ").unwrap();
        let err = Storage::open(&dir).unwrap_err();
        assert!(matches!(err, StorageError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("config.json"));
        assert_eq!(
            fs::read(dir.join(DOCUMENT_FILE)).unwrap(),
            b"{\"wifi\": {\"ssid\": "
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn in_memory_storage_writes_nothing() {
        assert!(Storage::in_memory().persist(b"x").is_ok());
        assert!(Storage::in_memory().dir().is_none());
    }
}
