"""The SFTP landing zone where municipalities upload: provisioning OpenSSH, and an embedded server."""
