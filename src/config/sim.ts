// Limits and defaults for src/sim. Each constant: unit last in the name, and a sentence on why.
export {};
