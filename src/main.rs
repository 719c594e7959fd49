/// Every allocation is counted, so that a plan that would need more memory than
/// `--max-memory` ends with a coded error (R006), not an out-of-memory kill.
#[global_allocator]
static ALLOC: netc::memory::Counting = netc::memory::Counting;

fn main() {
    std::process::exit(netc::cli::main());
}
