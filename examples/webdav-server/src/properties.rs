//! Dead properties (RFC 4918 §4) for a filesystem that keeps none.
//!
//! dav-server's `LocalFs` answers PROPPATCH with 501, so a directory served with `--root`
//! could not pass litmus `props` nor the PROPPATCH of locks `owner_modify`.
//! [`WithProperties`] keeps the properties in memory beside the files, follows renames,
//! copies and removals made through WebDAV, and forgets them when the server stops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use axum::http::StatusCode;
use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavFileSystem, DavMetaData, DavProp, FsError, FsFuture, FsStream,
    OpenOptions, ReadDirMeta,
};

/// The properties of each resource, by decoded path without a trailing slash.
type Store = HashMap<Vec<u8>, Vec<DavProp>>;

/// `inner` with dead properties kept in memory. Clones share the properties.
#[derive(Clone)]
pub struct WithProperties<F> {
    inner: F,
    store: Arc<Mutex<Store>>,
}

impl<F> WithProperties<F> {
    /// `inner`, with no property set yet.
    pub fn new(inner: F) -> Self {
        WithProperties {
            inner,
            store: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves (or copies) the properties of `from` and everything below it to `to`.
    fn carry(&self, from: &DavPath, to: &DavPath, keep_source: bool) {
        let (from, to) = (key(from), key(to));
        let mut store = self.store();
        let carried: Vec<(Vec<u8>, Vec<DavProp>)> = store
            .iter()
            .filter_map(|(k, props)| {
                let rest = below(k, &from)?;
                Some(([to.as_slice(), rest].concat(), props.clone()))
            })
            .collect();
        if !keep_source {
            store.retain(|k, _| below(k, &from).is_none());
        }
        store.retain(|k, _| below(k, &to).is_none());
        store.extend(carried);
    }

    fn forget(&self, path: &DavPath) {
        let gone = key(path);
        self.store().retain(|k, _| below(k, &gone).is_none());
    }
}

fn key(path: &DavPath) -> Vec<u8> {
    let bytes = path.as_bytes();
    match bytes.strip_suffix(b"/") {
        Some(trimmed) if !trimmed.is_empty() => trimmed.to_vec(),
        _ => bytes.to_vec(),
    }
}

/// What follows `root` in `key` when `key` is `root` or lies below it.
fn below<'k>(key: &'k [u8], root: &[u8]) -> Option<&'k [u8]> {
    let rest = key.strip_prefix(root)?;
    (rest.is_empty() || rest.starts_with(b"/") || root == b"/").then_some(rest)
}

fn same_name(a: &DavProp, b: &DavProp) -> bool {
    a.name == b.name && a.namespace == b.namespace
}

fn without_value(prop: &DavProp) -> DavProp {
    DavProp {
        xml: None,
        ..prop.clone()
    }
}

impl<F: DavFileSystem + Clone + Send + Sync + 'static> DavFileSystem for WithProperties<F> {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        self.inner.open(path, options)
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        meta: ReadDirMeta,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        self.inner.read_dir(path, meta)
    }

    fn metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        self.inner.metadata(path)
    }

    fn symlink_metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        self.inner.symlink_metadata(path)
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(async move {
            self.inner.create_dir(path).await?;
            // A new resource starts without properties, whatever a former one had.
            self.forget(path);
            Ok(())
        })
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(async move {
            self.inner.remove_dir(path).await?;
            self.forget(path);
            Ok(())
        })
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(async move {
            self.inner.remove_file(path).await?;
            self.forget(path);
            Ok(())
        })
    }

    fn rename<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(async move {
            self.inner.rename(from, to).await?;
            // Properties move with their resource (RFC 4918 §9.9.1).
            self.carry(from, to, false);
            Ok(())
        })
    }

    fn copy<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        Box::pin(async move {
            self.inner.copy(from, to).await?;
            // Dead properties are copied with the resource (RFC 4918 §9.8.2).
            self.carry(from, to, true);
            Ok(())
        })
    }

    fn set_accessed<'a>(&'a self, path: &'a DavPath, tm: SystemTime) -> FsFuture<'a, ()> {
        self.inner.set_accessed(path, tm)
    }

    fn set_modified<'a>(&'a self, path: &'a DavPath, tm: SystemTime) -> FsFuture<'a, ()> {
        self.inner.set_modified(path, tm)
    }

    fn have_props<'a>(
        &'a self,
        _path: &'a DavPath,
    ) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(std::future::ready(true))
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
    ) -> FsFuture<'a, Vec<(StatusCode, DavProp)>> {
        Box::pin(async move {
            self.inner.metadata(path).await?;
            let mut store = self.store();
            let props = store.entry(key(path)).or_default();
            let mut answers = Vec::with_capacity(patch.len());
            for (set, prop) in patch {
                answers.push((StatusCode::OK, without_value(&prop)));
                props.retain(|p| !same_name(p, &prop));
                if set {
                    props.push(prop);
                }
            }
            Ok(answers)
        })
    }

    fn get_props<'a>(&'a self, path: &'a DavPath, do_content: bool) -> FsFuture<'a, Vec<DavProp>> {
        Box::pin(async move {
            self.inner.metadata(path).await?;
            let store = self.store();
            let props = store.get(&key(path)).map(Vec::as_slice).unwrap_or_default();
            Ok(props
                .iter()
                .map(|p| {
                    if do_content {
                        p.clone()
                    } else {
                        without_value(p)
                    }
                })
                .collect())
        })
    }

    fn get_prop<'a>(&'a self, path: &'a DavPath, prop: DavProp) -> FsFuture<'a, Vec<u8>> {
        Box::pin(async move {
            self.inner.metadata(path).await?;
            let store = self.store();
            let found = store
                .get(&key(path))
                .and_then(|props| props.iter().find(|p| same_name(p, &prop)));
            found.and_then(|p| p.xml.clone()).ok_or(FsError::NotFound)
        })
    }

    fn get_quota(&'_ self) -> FsFuture<'_, (u64, Option<u64>)> {
        self.inner.get_quota()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dav_server::memfs::MemFs;

    fn p(path: &str) -> DavPath {
        DavPath::new(path).unwrap()
    }

    fn prop(name: &str, value: &str) -> DavProp {
        DavProp {
            name: name.to_owned(),
            prefix: Some("x".to_owned()),
            namespace: Some("urn:x".to_owned()),
            xml: Some(format!("<x:{name} xmlns:x=\"urn:x\">{value}</x:{name}>").into_bytes()),
        }
    }

    #[tokio::test]
    async fn properties_are_set_replaced_removed_and_follow_a_move() {
        let fs = WithProperties::new(*MemFs::new());
        fs.create_dir(&p("/dir/")).await.unwrap();
        assert!(
            fs.patch_props(&p("/missing"), vec![(true, prop("a", "1"))])
                .await
                .is_err()
        );
        fs.patch_props(
            &p("/dir/"),
            vec![(true, prop("a", "1")), (true, prop("b", "2"))],
        )
        .await
        .unwrap();
        fs.patch_props(
            &p("/dir"),
            vec![(true, prop("a", "3")), (false, prop("b", ""))],
        )
        .await
        .unwrap();
        assert_eq!(fs.get_props(&p("/dir/"), true).await.unwrap().len(), 1);
        let value = fs.get_prop(&p("/dir"), prop("a", "")).await.unwrap();
        assert!(String::from_utf8(value).unwrap().contains(">3<"));
        assert!(fs.get_prop(&p("/dir"), prop("b", "")).await.is_err());

        fs.rename(&p("/dir/"), &p("/moved/")).await.unwrap();
        assert!(fs.get_prop(&p("/moved"), prop("a", "")).await.is_ok());
        fs.create_dir(&p("/dir/")).await.unwrap();
        assert!(
            fs.get_props(&p("/dir"), false).await.unwrap().is_empty(),
            "a new resource has none"
        );
        fs.remove_dir(&p("/moved/")).await.unwrap();
        assert!(fs.store().is_empty());
    }

    #[test]
    fn a_subtree_is_a_path_and_what_lies_under_its_slash() {
        assert_eq!(below(b"/a/b", b"/a"), Some(&b"/b"[..]));
        assert_eq!(below(b"/a", b"/a"), Some(&b""[..]));
        assert_eq!(below(b"/ab", b"/a"), None);
        assert_eq!(below(b"/x", b"/"), Some(&b"x"[..]));
    }
}
