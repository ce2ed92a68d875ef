"""Chapter 7's helper network of the book, as cnet.book serves it to the chapter's scripts."""
