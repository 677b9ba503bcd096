// Enrollment: accounts, tiers, sessions, policy.
