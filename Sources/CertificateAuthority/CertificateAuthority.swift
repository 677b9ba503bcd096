// Certificate authority: issuing key, profiles, CSR checks, serials, CRL.
