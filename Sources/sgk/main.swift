print(embeddedSources.count)
