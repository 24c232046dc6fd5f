fn main() -> std::process::ExitCode {
    fedflow::cli::main()
}
