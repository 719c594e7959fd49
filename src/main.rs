fn main() {
    std::process::exit(netc::cli::main());
}
