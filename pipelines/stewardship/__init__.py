"""The data stewards' workflow: failure history, waivers, the review report, correction lists and Data Docs."""
