// Limits and defaults for src/transport. Each constant: unit last in the name, and a sentence on why.
export {};
