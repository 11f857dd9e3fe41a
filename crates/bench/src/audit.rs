//! Running audit commands: `/bin/sh` reads the command on standard input (as in kube-bench),
//! standard error joins standard output, and every command has a time limit.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A command that failed, timed out or could not start; the message says which and holds
/// its output (kube-bench puts it in the check's `reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to run: {command:?}, output: {output:?}, error: {error}")]
pub struct AuditError {
    /// The command.
    pub command: String,
    /// What it printed.
    pub output: String,
    /// `exit status N`, `timed out after ...`, or the spawn error.
    pub error: String,
}

/// How audit commands run.
#[derive(Debug, Clone)]
pub struct AuditRunner {
    /// Longest time one command may take.
    pub timeout: Duration,
    /// For an offline copy: a `ps` listing that replaces the `ps` program.
    pub ps_file: Option<std::path::PathBuf>,
}

/// Replaces `ps` for offline copies: prints the listing, only lines naming the program when
/// `-C NAME` is given.
const PS_SHIM: &str = r#"ps() { _kso_c=""; while [ $# -gt 0 ]; do case "$1" in -C|-*C) _kso_c="$2"; shift;; esac; shift; done
if [ -n "$_kso_c" ]; then grep -E "(^|[ /])$_kso_c( |\$)" "$KSO_PS_FILE"; else cat "$KSO_PS_FILE"; fi; }
"#;

impl AuditRunner {
    /// Runs `command`; an empty command gives empty output.
    pub fn run(&self, command: &str) -> Result<String, AuditError> {
        let command = command.trim();
        if command.is_empty() {
            return Ok(String::new());
        }
        let mut script = String::from("exec 2>&1\n");
        let mut cmd = Command::new("/bin/sh");
        // Its own process group, so a timeout ends the command's children too.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        if let Some(ps) = &self.ps_file {
            script.push_str(PS_SHIM);
            cmd.env("KSO_PS_FILE", ps);
            // An absolute `/bin/ps` would bypass the shell function.
            script.push_str(&command.replace("/bin/ps ", "ps ").replace("/usr/bin/ps ", "ps "));
        } else {
            script.push_str(command);
        }
        script.push('\n');
        let fail = |output: String, error: String| AuditError { command: command.to_string(), output, error };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail(String::new(), e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that exits without reading its script is not an error here.
            let _ = stdin.write_all(script.as_bytes());
        }
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
        // The reader ends when every writer (grandchildren included) has closed the pipe.
        let output = match rx.recv_timeout(self.timeout) {
            Ok(buf) => String::from_utf8_lossy(&buf).into_owned(),
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stderr(Stdio::null())
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(String::new(), format!("timed out after {:?}", self.timeout)));
            }
        };
        let status = child.wait().map_err(|e| fail(output.clone(), e.to_string()))?;
        match status.code() {
            Some(0) => Ok(output),
            Some(code) => Err(fail(output, format!("exit status {code}"))),
            None => Err(fail(output, "killed by a signal".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner() -> AuditRunner {
        AuditRunner { timeout: Duration::from_secs(5), ps_file: None }
    }

    #[test]
    fn output_and_errors() {
        assert_eq!(runner().run("echo a; echo b >&2").unwrap(), "a\nb\n");
        let err = runner().run("echo x; exit 3").unwrap_err();
        assert_eq!((err.output.as_str(), err.error.as_str()), ("x\n", "exit status 3"));
        assert_eq!(runner().run("  ").unwrap(), "");
    }

    #[test]
    fn commands_time_out() {
        let r = AuditRunner { timeout: Duration::from_millis(200), ps_file: None };
        let start = std::time::Instant::now();
        assert!(r.run("sleep 5").unwrap_err().error.starts_with("timed out"));
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn offline_ps_listing() {
        let dir = tempfile::tempdir().unwrap();
        let ps = dir.path().join("ps.txt");
        std::fs::write(&ps, "/usr/bin/kubelet --anonymous-auth=false\n/usr/bin/etcd --name x\n").unwrap();
        let r = AuditRunner { timeout: Duration::from_secs(5), ps_file: Some(ps) };
        assert_eq!(r.run("/bin/ps -fC kubelet").unwrap(), "/usr/bin/kubelet --anonymous-auth=false\n");
        assert_eq!(r.run("ps -ef | grep etcd | grep -v grep").unwrap(), "/usr/bin/etcd --name x\n");
    }
}
