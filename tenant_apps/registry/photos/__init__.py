"""Student photos: the national photo file and bulk archives (issue 17, domain §3.13)."""
