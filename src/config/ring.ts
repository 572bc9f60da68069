// Limits and defaults for src/ring. Each constant: unit last in the name, and a sentence on why.
export {};
