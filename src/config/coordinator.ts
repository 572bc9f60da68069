// Limits and defaults for src/coordinator. Each constant: unit last in the name, and a sentence on why.
export {};
