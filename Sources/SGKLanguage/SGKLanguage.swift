// The language.
