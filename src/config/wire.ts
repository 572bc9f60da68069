// Limits and defaults for src/wire. Each constant: unit last in the name, and a sentence on why.
export {};
