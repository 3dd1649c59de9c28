"""DataFrame ⇄ matrix: reading and writing tables (io), column kinds (schema), the encoder and its layout,
conditions on columns. pandas, numpy and scikit-learn; never torch."""
