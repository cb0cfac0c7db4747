fn main() {
    eprintln!("config-server is not built yet: it will serve the device configuration API");
    std::process::exit(1);
}
