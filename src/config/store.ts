// Limits and defaults for src/store. Each constant: unit last in the name, and a sentence on why.
export {};
