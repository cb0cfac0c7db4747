fn main() {
    eprintln!("webdav-server is not built yet: it will serve WebDAV with lockwarden as the lock system");
    std::process::exit(1);
}
