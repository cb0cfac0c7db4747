//! How a change becomes the configuration: applied in order, stored durably, then
//! acknowledged and served.
//!
//! A durable store costs two `fsync`s, milliseconds on most disks, so changes are
//! committed in groups: each change is applied to the latest document at once (under a
//! short mutex, where its preconditions are checked too), then waits for a store that
//! covers it. The first waiter stores the latest document for everyone queued behind it,
//! so N concurrent writers pay for about one store, not N. Readers see a document only
//! once it is stored, and a writer is answered only once its change is.

use std::ops::RangeInclusive;
use std::sync::{Arc, RwLock};

use crate::config::{ConfigDocument, RenderedDocument};
use crate::problem::Problem;
use crate::storage::Storage;

/// The configuration and its changes.
#[derive(Debug)]
pub struct Changes {
    /// What readers get: the last stored document.
    stored: RwLock<Arc<RenderedDocument>>,
    /// The document with every change applied, stored or not, and the number of the last
    /// change.
    latest: tokio::sync::Mutex<Latest>,
    /// Held by the one store in progress; records what stores achieved.
    store: tokio::sync::Mutex<Stored>,
    storage: Storage,
}

#[derive(Debug)]
struct Latest {
    document: ConfigDocument,
    change: u64,
}

#[derive(Debug, Default)]
struct Stored {
    /// Every change up to this number is stored, unless it lies in `failed`.
    up_to: u64,
    /// Changes lost to a failed store (rare: a full or broken disk).
    failed: Vec<(RangeInclusive<u64>, String)>,
}

impl Changes {
    /// Changes to `document`, stored in `storage`.
    pub fn new(storage: Storage, document: ConfigDocument) -> Self {
        Changes {
            stored: RwLock::new(Arc::new(RenderedDocument::new(document.clone()))),
            latest: tokio::sync::Mutex::new(Latest {
                document,
                change: 0,
            }),
            store: tokio::sync::Mutex::new(Stored::default()),
            storage,
        }
    }

    /// The document as last stored.
    pub fn current(&self) -> Arc<RenderedDocument> {
        let guard = self
            .stored
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(&guard)
    }

    /// Serves `document` from now on, as stored by a fleet's shared store (see
    /// `crate::fleet`), where changes are made rather than through [`Changes::apply`].
    pub fn adopt(&self, document: ConfigDocument) {
        let mut guard = self.stored.write().unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(RenderedDocument::new(document));
    }

    /// Applies `edit` to the latest document and returns once the change is stored.
    /// `edit` checks its preconditions against the latest document and either changes it
    /// and returns `Ok`, or leaves it untouched and returns the problem to answer.
    pub async fn apply<T>(
        &self,
        edit: impl FnOnce(&mut ConfigDocument) -> Result<T, Problem>,
    ) -> Result<T, Problem> {
        let (answer, change) = {
            let mut latest = self.latest.lock().await;
            let answer = edit(&mut latest.document)?;
            latest.change += 1;
            (answer, latest.change)
        };
        self.wait_stored(change).await?;
        Ok(answer)
    }

    async fn wait_stored(&self, change: u64) -> Result<(), Problem> {
        let mut stored = self.store.lock().await;
        if stored.up_to < change {
            // Nobody stored this change yet: store everything applied so far.
            let (document, up_to) = {
                let latest = self.latest.lock().await;
                (latest.document.clone(), latest.change)
            };
            let rendered = RenderedDocument::new(document);
            let storage = self.storage.clone();
            let bytes = rendered.stored_bytes().clone();
            let outcome = match tokio::task::spawn_blocking(move || storage.persist(&bytes)).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(()) => {
                    let mut guard = self.stored.write().unwrap_or_else(|p| p.into_inner());
                    *guard = Arc::new(rendered);
                }
                Err(error) => {
                    // Every change not stored is lost, including those applied on top of
                    // this batch meanwhile: back to the stored document.
                    let mut latest = self.latest.lock().await;
                    latest.document = self.current().document().clone();
                    let lost = stored.up_to + 1..=latest.change;
                    stored.failed.push((lost, error));
                    stored.up_to = latest.change;
                    drop(latest);
                    return Err(Problem::storage_failed(stored_error(&stored, change)));
                }
            }
            stored.up_to = up_to;
        }
        match stored
            .failed
            .iter()
            .find(|(lost, _)| lost.contains(&change))
        {
            Some((_, error)) => Err(Problem::storage_failed(error)),
            None => Ok(()),
        }
    }
}

fn stored_error(stored: &Stored, change: u64) -> &str {
    stored
        .failed
        .iter()
        .find(|(lost, _)| lost.contains(&change))
        .map_or("the store failed", |(_, error)| error.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreLimits;
    use serde_json::json;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lw-commit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_changes_are_all_stored_and_served() {
        let dir = scratch("concurrent");
        let (storage, document) = Storage::open(&dir).unwrap();
        let changes = Arc::new(Changes::new(storage, document));
        let mut tasks = Vec::new();
        for i in 0..40 {
            let changes = Arc::clone(&changes);
            tasks.push(tokio::spawn(async move {
                changes
                    .apply(|doc| {
                        doc.merge(
                            "wifi",
                            &json!({ format!("k{i}"): i }),
                            &StoreLimits::DEFAULT,
                        )
                        .map_err(|_| Problem::unknown_section("wifi"))
                    })
                    .await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let (_, reopened) = Storage::open(&dir).unwrap();
        for i in 0..40 {
            assert_eq!(reopened.section("wifi").unwrap()[format!("k{i}")], i);
        }
        assert_eq!(changes.current().document(), &reopened);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_refused_edit_changes_nothing_and_a_failed_store_is_rolled_back() {
        let dir = scratch("failed");
        let (storage, document) = Storage::open(&dir).unwrap();
        let changes = Changes::new(storage, document.clone());
        let refused: Result<(), Problem> =
            changes.apply(|_| Err(Problem::unknown_section("x"))).await;
        assert!(refused.is_err());
        // Make the next store fail: the directory is gone.
        std::fs::remove_dir_all(&dir).unwrap();
        let failed = changes
            .apply(|doc| {
                doc.merge("wifi", &json!({"ssid": "lost"}), &StoreLimits::DEFAULT)
                    .map_err(|_| Problem::unknown_section("wifi"))
            })
            .await;
        assert_eq!(failed.unwrap_err().status, 500);
        assert_eq!(changes.current().document(), &document);
        std::fs::create_dir_all(&dir).unwrap();
        changes
            .apply(|doc| {
                doc.merge("time", &json!({"tz": "UTC"}), &StoreLimits::DEFAULT)
                    .map_err(|_| Problem::unknown_section("time"))
            })
            .await
            .unwrap();
        let stored = changes.current();
        assert_eq!(stored.document().section("time").unwrap()["tz"], "UTC");
        assert_ne!(stored.document().section("wifi").unwrap()["ssid"], "lost");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
