// The SGKREPL module.
