// OpenSSLKit module.
