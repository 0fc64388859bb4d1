// The SFTP module; see its issue.
