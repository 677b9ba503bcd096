// DaemonCore module.
