//! The signals that stop the process, handled by `ctrlc`: the one place the tool touches them.

/// Calls `stop` on its own thread each time the process gets SIGINT (Ctrl-C),
/// SIGTERM or SIGHUP (on Windows, Ctrl-C, Ctrl-Break or the console
/// closing), instead of ending the process there; once a process only.
pub(crate) fn on_stop_signal(stop: Box<dyn FnMut() + Send>) -> Result<(), String> {
    ctrlc::set_handler(stop).map_err(|e| format!("could not handle SIGINT and SIGTERM: {e}"))
}
