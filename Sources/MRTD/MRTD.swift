// MRTD module.
