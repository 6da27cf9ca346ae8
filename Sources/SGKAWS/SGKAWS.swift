// The SGKAWS module.
