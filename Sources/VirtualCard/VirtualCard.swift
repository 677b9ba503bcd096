// VirtualCard module.
