"""Excel import of the national template: workbooks, the dry run and the COPY write."""
